/**
 * The kinds record (pure): an owned Secret per cluster whose annotation lists
 * every kind crosslink has written there (for this topology), so a no-op
 * observation LISTs only the kinds the topology can render in the cluster or
 * has rendered before, and pruning still finds every old object.
 *
 * Why it is safe: the record is read from the owned Secret LIST, which observe
 * always makes; it only grows (recorded ∪ desired ∪ live kinds); plan writes it
 * before any other action of the cluster (rank below every kind), so no object
 * of a kind it lacks can exist unless crosslink wrote it before the record
 * existed. Without a record, a cluster where the first LISTs find something
 * owned gets every kind listed (what observe did before the record), after
 * which the record takes in every kind it found live; one where they find
 * nothing owned is a first contact, with nothing recorded (kindsToList).
 * The cost: a record deleted by hand in a cluster that holds nothing else of
 * crosslink's in the kinds listed anyway hides the other kinds from prune, as
 * a hand edit of the record does (docs/decisions.md §6).
 * Secrets, Services and Links are listed in every observation and are not recorded.
 */
import type { KindInfo } from "../kube/kinds.js";
import { groupOf, type KubeObject, type ObjectRef } from "../kube/object.js";
import { SPLIT_APIS } from "../extensions/split-apis.js";
import type { Cluster, Topology } from "../topology/types.js";
import { owned } from "./render/meta.js";
import { isOwned } from "./names.js";

/** The annotation of the record: the recorded kinds as `group/Kind` (core: `Kind`), sorted, comma-separated. */
export const KINDS_RECORD_ANNOTATION = "crosslink.dev/kinds";

/** The Secret type of the record. */
export const KINDS_RECORD_TYPE = "crosslink.dev/kinds-record";

const NAME_PREFIX = "crosslink-kinds-";

/** The kinds observe lists in every cluster whatever the record says (never recorded). */
const ALWAYS_LISTED = new Set(["Secret", "Service", "multicluster.linkerd.io/Link"]);

/** What observe found of the record in one cluster: the kinds it lists (undefined: no record), and where it lives. */
export interface KindsRecordFacts {
  /** The recorded kinds; undefined when the cluster holds no record (observe then listed every kind). */
  recorded?: string[];
  /** The namespace the record is (to be) written in: the cluster's Linkerd namespace. */
  namespace: string;
  /** The record as read. */
  object?: KubeObject;
}

/** The record's name for a topology. */
export function kindsRecordName(topology: string): string {
  return `${NAME_PREFIX}${topology}`;
}

/** Whether a reference is a kinds record (any topology's). */
export function isKindsRecordRef(ref: Pick<ObjectRef, "apiVersion" | "kind" | "name">): boolean {
  return ref.apiVersion === "v1" && ref.kind === "Secret" && ref.name.startsWith(NAME_PREFIX);
}

/** A kind's key in the record: `group/Kind`, or `Kind` for the core group. */
export function kindKey(group: string, kind: string): string {
  return group ? `${group}/${kind}` : kind;
}

/** The record's key of an object's kind. */
export function kindKeyOf(o: Pick<KubeObject, "apiVersion" | "kind">): string {
  return kindKey(groupOf(o.apiVersion), o.kind);
}

/** The record of `topology` among a cluster's owned Secrets, as facts. */
export function readKindsRecord(
  topology: string,
  cluster: Cluster,
  ownedSecrets: readonly KubeObject[],
): KindsRecordFacts {
  const name = kindsRecordName(topology);
  const record = ownedSecrets.find(
    (o) =>
      o.metadata.name === name &&
      o.metadata.namespace === cluster.linkerdNamespace &&
      isOwned(o.metadata.labels, topology),
  );
  const text = record?.metadata.annotations?.[KINDS_RECORD_ANNOTATION];
  const facts: KindsRecordFacts = { namespace: cluster.linkerdNamespace };
  if (record && typeof text === "string") {
    facts.recorded = text.split(",").filter(Boolean);
    facts.object = record;
  }
  return facts;
}

/**
 * The kinds the topology may render in a cluster (a superset; Secrets,
 * Services and Links aside): a link target's remote access, a link source's
 * managed controller (its ClusterRole only when `sharedRoleMine`: the chart's
 * shared role is missing or crosslink's), and the split API each split uses
 * (its `api`, else the first served, as render picks). A kind missed here
 * costs one create on the first run, never a lost prune: the record takes it in.
 */
export function renderableKinds(
  topology: Topology,
  cluster: Cluster,
  served: Readonly<Record<string, readonly string[]>>,
  sharedRoleMine: boolean,
): Set<string> {
  const out = new Set<string>();
  const rbac = "rbac.authorization.k8s.io";
  if (topology.links.some((l) => l.to === cluster.name))
    for (const k of ["ServiceAccount", `${rbac}/ClusterRole`, `${rbac}/ClusterRoleBinding`]) out.add(k);
  if (topology.links.some((l) => l.from === cluster.name && l.controller === "managed")) {
    for (const k of [
      "ServiceAccount",
      `${rbac}/Role`,
      `${rbac}/RoleBinding`,
      `${rbac}/ClusterRoleBinding`,
      "apps/Deployment",
    ])
      out.add(k);
    if (sharedRoleMine) out.add(`${rbac}/ClusterRole`);
  }
  for (const split of topology.splits) {
    if (split.cluster !== cluster.name) continue;
    const row = SPLIT_APIS.find((r) => (split.api ? r.api === split.api : (served[r.group]?.length ?? 0) > 0));
    if (row) out.add(kindKey(row.group, row.kind));
  }
  return out;
}

/**
 * The recorded kinds observe goes by: the record's; none at first contact (no record, and nothing of crosslink's
 * among the objects observe lists whatever the record says: the record is written before anything else, so such a
 * cluster holds nothing of crosslink's); undefined, every kind, when there is no record but something owned is there
 * (the record deleted by hand, or written by a crosslink older than records).
 */
export function kindsToList(record: KindsRecordFacts, ownsSomething: boolean): readonly string[] | undefined {
  if (record.recorded) return record.recorded;
  return ownsSomething ? undefined : [];
}

/** Whether observe must LIST a kind: every kind when `recorded` is undefined, else the recorded and renderable ones. */
export function mustList(
  kind: Pick<KindInfo, "group" | "kind">,
  recorded: readonly string[] | undefined,
  renderable: ReadonlySet<string>,
): boolean {
  const key = kindKey(kind.group, kind.kind);
  return ALWAYS_LISTED.has(key) || !recorded || recorded.includes(key) || renderable.has(key);
}

/**
 * The record a cluster must hold after this run: recorded ∪ the kinds of the
 * desired and the live owned objects (the record itself, Secrets, Services and
 * Links aside), or undefined when it already holds exactly that (or nothing is
 * to be recorded and it holds no record).
 */
export function plannedKindsRecord(
  topology: string,
  record: KindsRecordFacts,
  desired: readonly KubeObject[],
  live: readonly KubeObject[],
): KubeObject | undefined {
  const kinds = new Set(record.recorded ?? []);
  for (const o of [...desired, ...live]) {
    const key = kindKeyOf(o);
    if (!ALWAYS_LISTED.has(key)) kinds.add(key);
  }
  const sorted = [...kinds].sort();
  if (record.recorded && sorted.join(",") === [...record.recorded].sort().join(",")) return undefined;
  if (!record.recorded && !sorted.length) return undefined;
  return owned(
    topology,
    "v1",
    "Secret",
    kindsRecordName(topology),
    record.namespace,
    { type: KINDS_RECORD_TYPE },
    { annotations: { [KINDS_RECORD_ANNOTATION]: sorted.join(",") } },
  );
}
