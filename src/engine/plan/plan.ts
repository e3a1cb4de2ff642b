/**
 * plan (pure): desired vs live → a Plan. Pairs objects by key; create, update
 * (with the changed fields), replace (immutable fields), delete (owned objects
 * nothing wants any more, and mirror Services an unlink leaves behind), and
 * credentials; deterministic order: by the kind table's rank, deletes in
 * reverse. Nothing here talks to a cluster.
 */
import { objectKey, refOf, type KubeObject } from "../../kube/object.js";
import type { Topology } from "../../topology/types.js";
import type { ClusterFacts, ClusterObservation } from "../facts.js";
import { nsName } from "../facts.js";
import { CLUSTER_NAME_LABEL } from "../names.js";
import { EXPORT_LABELS } from "../../extensions/export-modes.js";
import { ownsExportLabel } from "../render/exports.js";
import type { DesiredCluster, Finding } from "../render/desired.js";
import { declarationsFromLive, declarationsOf, type Declarations } from "./declarations.js";
import { plannedKindsRecord } from "../kinds-record.js";
import { fieldChanges, touchesImmutable } from "./field-changes.js";
import { massRemovals, unexplainedDeletions, type GuardFinding, type PlannedDeletion } from "./prune-guard.js";
import { actionRank, type Action, type ClusterPlan, type FieldChange, type Plan } from "./actions.js";

/** Options of planning. */
export interface PlanOptions {
  /** Field manager whose managed fields count as crosslink's. */
  fieldManager: string;
  /** Allow what the prune guard stops (a mass removal, unexplained deletions): its findings become info. */
  allowMassPrune: boolean;
  /** What allows it, for messages; default `--allow-mass-prune`. */
  allowedBy?: string;
  /** What was declared before (the applied revision, the review's base); undefined: what the clusters' labels show. */
  previous?: Declarations;
}

/** Builds the plan of every cluster, in topology order, and runs the prune guard over its deletions. */
export function plan(
  topology: Topology,
  observations: readonly ClusterObservation[],
  desired: ReadonlyMap<string, DesiredCluster>,
  opts: PlanOptions,
): Plan {
  const mass = massVerdict(topology, opts.previous ?? declarationsFromLive(observations, opts.fieldManager), opts);
  return {
    topology: topology.name,
    clusters: observations.map((obs) =>
      planOne(topology, obs, obs.ok ? desired.get(obs.cluster) : undefined, mass, opts),
    ),
  };
}

/** The topology-wide part of the prune guard (XL641), decided once per run from what was and is declared. */
export interface MassVerdict {
  /** What the topology declares now (XL642 reads it for each cluster's deletions). */
  next: Declarations;
  findings: GuardFinding[];
  /** Set when every cluster's plan with actions must not run, with why. */
  blockAll?: string;
}

/** XL641 for a run: `previous` against what the topology declares now. Pure. */
export function massVerdict(topology: Topology, previous: Declarations, opts: PlanOptions): MassVerdict {
  const next = declarationsOf(topology);
  const findings = massRemovals(previous, next, allowance(opts));
  const blocking = findings.filter((f) => f.severity === "error");
  return { next, findings, ...(blocking.length ? { blockAll: blocking.map((f) => f.message).join("; ") } : {}) };
}

/**
 * Plans one cluster from its observation and desired state (render's, from the
 * cluster and its link targets), with the run's mass verdict and XL642 over its
 * own deletions. Pure; the same for a cluster whether planned alone or with all.
 */
export function planOne(
  topology: Topology,
  obs: ClusterObservation,
  desired: DesiredCluster | undefined,
  mass: MassVerdict,
  opts: PlanOptions,
): ClusterPlan {
  if (!obs.ok) return unobservedPlan(obs.cluster, obs.error);
  const clusterNames = new Set(topology.clusters.map((c) => c.name));
  const { plan: cp, deletions } = planCluster(topology.name, obs.facts, desired!, clusterNames, opts);
  const unexplained = unexplainedDeletions(mass.next, deletions, allowance(opts));
  const mine = [...(cp.actions.length ? mass.findings : []), ...unexplained.filter((f) => f.cluster === cp.cluster)];
  if (!mine.length) return cp;
  cp.findings = sortFindings([...cp.findings, ...mine.map((f) => guardFinding(f, cp.cluster))]);
  const blocked =
    (cp.actions.length ? mass.blockAll : undefined) ??
    unexplained.find((f) => f.severity === "error" && f.cluster === cp.cluster)?.message;
  if (blocked) cp.blocked = blocked;
  return cp;
}

/** The plan of a cluster that could not be observed: no actions, the error. */
export function unobservedPlan(cluster: string, error: string): ClusterPlan {
  return { cluster, error, actions: [], findings: [], unchanged: 0, ownedCount: 0 };
}

function allowance(opts: PlanOptions): string | undefined {
  return opts.allowMassPrune ? (opts.allowedBy ?? "--allow-mass-prune") : undefined;
}

function guardFinding(f: GuardFinding, cluster: string): Finding {
  return { severity: f.severity, code: f.code, cluster, message: f.message, hint: f.hint };
}

function planCluster(
  topology: string,
  facts: ClusterFacts,
  want: DesiredCluster,
  clusterNames: ReadonlySet<string>,
  opts: PlanOptions,
): { plan: ClusterPlan; deletions: PlannedDeletion[] } {
  const live = new Map(facts.owned.map((o) => [objectKey(refOf(o)), o]));
  const adoptable = new Map(facts.adoptable.map((o) => [objectKey(refOf(o)), o]));
  const wanted = new Map(want.objects.map((o) => [objectKey(refOf(o)), o]));
  const applies: Action[] = [];
  let unchanged = 0;

  for (const [key, object] of wanted) {
    const adopt = live.has(key) ? undefined : adoptable.get(key);
    const current = live.get(key) ?? adopt;
    const changes = fieldChanges(object, current, opts.fieldManager);
    if (!current) applies.push({ type: "create", object, changes, reason: "not in the cluster" });
    else if (!changes.length) unchanged++;
    else if (touchesImmutable(object.kind, changes))
      applies.push({ type: "replace", object, ref: refOf(current), changes, reason: "immutable field changed" });
    else if (adopt && !(reloadedOnlyWhenRecreated(object) && changes.some(needsRecreate))) {
      const from = managersOf(adopt);
      applies.push({
        type: "update",
        object,
        ref: refOf(current),
        changes,
        force: true,
        reason: `adopt: made by ${from.join(", ") || "another tool"}; crosslink takes ownership`,
        adoptedFrom: from,
      });
    } else if (reloadedOnlyWhenRecreated(object) && changes.some(needsRecreate))
      applies.push({
        type: "replace",
        object,
        ref: refOf(current),
        changes,
        reason: "Linkerd's destination controller reads this Secret only when it is created",
      });
    // Forced: a hand edit (kubectl edit/patch) moved the fields to another manager; crosslink owns the object and takes them back.
    else
      applies.push({
        type: "update",
        object,
        ref: refOf(current),
        changes,
        force: true,
        reason: "drifted from the topology",
      });
  }
  for (const patch of want.patches) {
    const current = liveForPatch(facts, patch.object);
    if (!current) continue;
    const changes = fieldChanges(patch.object, current, opts.fieldManager);
    const foreign = changes.length ? [] : foreignExportLabel(patch.object, current, opts.fieldManager);
    if (foreign.length)
      applies.push({
        type: "update",
        object: patch.object,
        ref: refOf(current),
        changes,
        force: patch.force,
        reason: `adopt export label: set by ${foreign.join(", ")}; crosslink becomes its field manager too`,
        adoptedFrom: foreign,
      });
    else if (!changes.length) unchanged++;
    else
      applies.push({
        type: "update",
        object: patch.object,
        ref: refOf(current),
        changes,
        force: patch.force,
        reason: patch.reason,
      });
  }
  for (const issue of want.credentials) applies.push({ type: "credentials", issue, reason: issue.reason });
  const record = facts.kindsRecord && plannedKindsRecord(topology, facts.kindsRecord, want.objects, facts.owned);
  if (record) {
    const current = facts.kindsRecord!.object;
    const changes = fieldChanges(record, current, opts.fieldManager);
    const reason = "records the kinds crosslink writes in this cluster (observe lists only those)";
    applies.push(
      current
        ? { type: "update", object: record, ref: refOf(current), changes, force: true, reason }
        : { type: "create", object: record, changes, reason },
    );
  }

  const deletes: Action[] = [];
  const deletions: PlannedDeletion[] = [];
  const gone = (object: KubeObject, reason: string, federatedMembers?: string[]) => {
    deletes.push({ type: "delete", ref: refOf(object), reason });
    deletions.push({
      cluster: facts.cluster,
      ref: refOf(object),
      labels: object.metadata.labels ?? {},
      ...(federatedMembers ? { federatedMembers } : {}),
    });
  };
  for (const [key, object] of live) {
    if (wanted.has(key) || want.keep.has(key)) continue;
    gone(object, "no longer in the topology");
  }
  for (const { svc, reason, federatedMembers } of orphanMirrors(facts, wanted, want.keep, deletes, clusterNames))
    gone(svc, reason, federatedMembers);

  const plan: ClusterPlan = {
    cluster: facts.cluster,
    actions: [...sortActions(applies, 1), ...sortActions(deletes, -1)],
    findings: sortFindings([...want.findings]),
    unchanged,
    ownedCount: facts.owned.length,
  };
  return { plan, deletions };
}

/**
 * The Linkerd-namespace credentials Secret: the destination controller's
 * ClusterStore handles only its Add and Delete (measured with Linkerd's own
 * ClusterStore: an update in place is ignored and the old token stays in use),
 * so any change to it is a delete and create.
 */
function reloadedOnlyWhenRecreated(object: KubeObject): boolean {
  return object.kind === "Secret" && object.metadata.labels?.[DESTINATION_CLUSTER_LABEL] !== undefined;
}

/**
 * Changes the destination controller must see as a new Secret: its data,
 * type and annotations. Labels (ownership) are updated in place.
 */
function needsRecreate(c: FieldChange): boolean {
  return !(c.path[0] === "metadata" && c.path[1] === "labels");
}

/** The field managers of an object, in the order the server lists them. */
function managersOf(o: KubeObject): string[] {
  return [...new Set((o.metadata.managedFields ?? []).map((m) => m.manager).filter((m): m is string => !!m))];
}

/**
 * The other field managers of an export label the patch wants with its live
 * value, when crosslink is not yet among them: adopting it makes crosslink a
 * manager, so a later unexport removes it. Empty when nothing to adopt.
 */
function foreignExportLabel(patch: KubeObject, live: KubeObject, manager: string): string[] {
  if (patch.kind !== "Service" || !Object.keys(patch.metadata.labels ?? {}).length) return [];
  if (ownsExportLabel(live, manager)) return [];
  const wanted = Object.keys(patch.metadata.labels ?? {}).filter((k) => EXPORT_LABELS.includes(k));
  return [
    ...new Set(
      (live.metadata.managedFields ?? [])
        .filter((m) => m.manager && m.manager !== manager)
        .filter((m) => wanted.some((k) => JSON.stringify(m.fieldsV1 ?? {}).includes(`"f:${k}"`)))
        .map((m) => m.manager!),
    ),
  ];
}

/** Label the destination controller selects its remote-cluster credentials by. */
const DESTINATION_CLUSTER_LABEL = "multicluster.linkerd.io/cluster-name";

/**
 * Mirror Services the service mirror leaves behind when a Link goes
 * (`linkerd multicluster unlink` lists them): those labelled with a topology
 * cluster's name whose Link is being deleted now, or is already gone and not
 * wanted; and federated Services whose members all came through such Links
 * (Linkerd's `unlink` misses those). Mirrors of Links crosslink does not
 * manage are never touched.
 */
function orphanMirrors(
  facts: ClusterFacts,
  wanted: ReadonlyMap<string, KubeObject>,
  keep: ReadonlySet<string>,
  deletes: readonly Action[],
  clusterNames: ReadonlySet<string>,
): { svc: KubeObject; reason: string; federatedMembers?: string[] }[] {
  const linkName = (key: string) =>
    key.startsWith("multicluster.linkerd.io/Link/") ? key.slice(key.lastIndexOf("/") + 1) : undefined;
  const stayingLinks = new Set([...wanted.keys(), ...keep].map(linkName).filter((n) => n !== undefined));
  const deletedLinks = new Set(
    deletes.flatMap((a) => (a.type === "delete" && a.ref.kind === "Link" ? [a.ref.name] : [])),
  );
  const liveLinks = new Set(facts.linkNames);
  const linkGone = (target: string) =>
    clusterNames.has(target) &&
    target !== facts.cluster &&
    !stayingLinks.has(target) &&
    (!liveLinks.has(target) || deletedLinks.has(target));
  const out: { svc: KubeObject; reason: string; federatedMembers?: string[] }[] = [];
  for (const svc of facts.mirrors) {
    const target = svc.metadata.labels?.[CLUSTER_NAME_LABEL];
    if (target) {
      if (linkGone(target)) out.push({ svc, reason: `mirror of ${target}, whose Link is gone` });
      continue;
    }
    // A federated Service (`<svc>-federated`) has no cluster label; it is left behind only when every member is remote and every member's Link is gone.
    const ann = svc.metadata.annotations ?? {};
    const members = (ann[FEDERATED_REMOTE_ANNOTATION] ?? "")
      .split(",")
      .map((m) => m.slice(m.lastIndexOf("@") + 1))
      .filter(Boolean);
    if (members.length && !ann[FEDERATED_LOCAL_ANNOTATION] && members.every(linkGone)) {
      const clusters = [...new Set(members)];
      out.push({
        svc,
        reason: `federated mirror whose members' Links (${clusters.join(", ")}) are gone`,
        federatedMembers: clusters,
      });
    }
  }
  return out;
}

/** Annotations of a federated Service naming its remote (`svc@cluster,…`) and local members. */
const FEDERATED_REMOTE_ANNOTATION = "multicluster.linkerd.io/remote-discovery";
const FEDERATED_LOCAL_ANNOTATION = "multicluster.linkerd.io/local-discovery";

function liveForPatch(facts: ClusterFacts, obj: KubeObject): KubeObject | undefined {
  if (obj.kind === "Service") return facts.services.get(nsName(obj.metadata.namespace ?? "", obj.metadata.name));
  if (obj.kind === "ConfigMap") {
    if (obj.metadata.name === "linkerd-config") return facts.linkerd?.configMap;
    if (obj.metadata.name === "linkerd-identity-trust-roots") return facts.trustRoots?.configMap;
  }
  return undefined;
}

/** One collator for every comparison: the order of `localeCompare`, without building one per call. */
const collator = new Intl.Collator();

/** Actions by the kind table's rank (ascending for 1, descending for -1), then by object; keys computed once each. */
function sortActions(actions: readonly Action[], direction: 1 | -1): Action[] {
  return actions
    .map((action) => ({ action, rank: actionRank(action) * direction, key: sortKey(action) }))
    .sort((a, b) => a.rank - b.rank || collator.compare(a.key, b.key))
    .map((x) => x.action);
}

function sortKey(a: Action): string {
  if (a.type === "credentials") return `Secret/${a.issue.from}/${a.issue.to}`;
  return objectKey(a.type === "create" ? refOf(a.object) : a.ref);
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 };

/** Orders findings (of a plan or a review): errors first, then by code and message. */
export function sortFindings<F extends Pick<Finding, "severity" | "message"> & { code: string }>(findings: F[]): F[] {
  return findings.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      collator.compare(a.code, b.code) ||
      collator.compare(a.message, b.message),
  );
}
