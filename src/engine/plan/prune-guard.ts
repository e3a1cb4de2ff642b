/**
 * The prune guard (pure): catches accidents, not edits. It compares what the
 * topology declared before with what it declares now, and the deletions a plan
 * makes, and returns findings with stable codes:
 *
 * - XL641 more than half (and at least two) of the declared links, exports or
 *         clusters are dropped at once: more often a bad merge or a truncated
 *         file than an intent. Blocks every cluster's plan.
 * - XL642 a deletion no declared change explains: an object whose origin (a
 *         link, a split, read from its labels and name) the new topology
 *         still declares, one that sits in a cluster its link does not
 *         involve, or one with no origin crosslink knows. Blocks that
 *         cluster's plan.
 *
 * Dropping links, exports or splits is otherwise an ordinary change, even
 * when it empties a cluster. An explicit allowance (`--allow-mass-prune`, or
 * the `crosslink: allow-mass-prune` trailer on the commit) turns both into
 * info findings. `apply`/`diff`, the daemon and the review all call this.
 */
import { describeRef, groupOf, type ObjectRef } from "../../kube/object.js";
import type { SplitApi } from "../../topology/types.js";
import {
  CLUSTER_NAME_LABEL,
  CONTROLLER_SHARED_CLUSTER_ROLE,
  LINK_LABEL,
  MANAGED_BY,
  MIRRORED_SERVICE_LABEL,
  linkNames,
} from "../names.js";
import { splitApiOfGroup, splitObjectName, splitServiceOf } from "../render/splits.js";
import type { Declarations, DeclaredLink } from "./declarations.js";
import { parseLinkLabel } from "./declarations.js";

/** The trailer that allows a mass removal: `crosslink: allow-mass-prune`. */
export const MASS_PRUNE_TRAILER = "crosslink: allow-mass-prune";

/** Share of the declared links, exports or clusters above which dropping them is a mass removal. */
export const MASS_REMOVAL_SHARE = 0.5;

/** Fewest drops that count as a mass removal: dropping the one link of a two-cluster mesh is an ordinary change. */
export const MASS_REMOVAL_MIN = 2;

/** Most objects named in one XL642 message; the rest are counted. */
const MAX_NAMED = 5;

/** One deletion of a plan, with the labels the object had when it was observed. */
export interface PlannedDeletion {
  cluster: string;
  ref: ObjectRef;
  labels: Record<string, string>;
  /** For a federated mirror (`<svc>-federated`, no cluster label): the clusters of its remote members. */
  federatedMembers?: string[];
}

/** A finding of the guard: a stable code, what happened, why it matters and what to do. */
export interface GuardFinding {
  code: "XL641" | "XL642";
  severity: "error" | "info";
  /** Set for XL642 (the cluster whose deletions are unexplained); XL641 is about the whole topology. */
  cluster?: string;
  message: string;
  explanation: string;
  hint: string;
}

/** Inputs of the guard. */
export interface GuardInput {
  /** What was declared before (the applied revision, the review's base, or what the clusters show); undefined: not known. */
  previous: Declarations | undefined;
  next: Declarations;
  deletions: readonly PlannedDeletion[];
  /** What allows mass and unexplained deletions (`--allow-mass-prune`, the trailer); undefined: nothing does. */
  allowedBy?: string;
}

/** The guard's verdict: findings, and which plans must not run. */
export interface GuardVerdict {
  findings: GuardFinding[];
  /** Set when every cluster's plan must not run (XL641), with why. */
  blockAll?: string;
  /** Clusters whose plan must not run (XL642), with why. */
  blocked: Map<string, string>;
}

/** Runs both rules. */
export function pruneGuard(input: GuardInput): GuardVerdict {
  const mass = input.previous ? massRemovals(input.previous, input.next, input.allowedBy) : [];
  const unexplained = unexplainedDeletions(input.next, input.deletions, input.allowedBy);
  const verdict: GuardVerdict = { findings: [...mass, ...unexplained], blocked: new Map() };
  const blocking = mass.filter((f) => f.severity === "error");
  if (blocking.length) verdict.blockAll = blocking.map((f) => f.message).join("; ");
  for (const f of unexplained) if (f.severity === "error" && f.cluster) verdict.blocked.set(f.cluster, f.message);
  return verdict;
}

/** XL641: links, exports or clusters dropped at once, each kind counted against what was declared before. */
export function massRemovals(previous: Declarations, next: Declarations, allowedBy?: string): GuardFinding[] {
  const linkKey = (l: { from: string; to: string }) => `${l.from}→${l.to}`;
  const exportKey = (e: { cluster: string; namespace: string; service: string }) =>
    `${e.cluster}/${e.namespace}/${e.service}`;
  const kinds: [string, string[], string[]][] = [
    ["links", previous.links.map(linkKey), next.links.map(linkKey)],
    ["exports", previous.exports.map(exportKey), next.exports.map(exportKey)],
    ["clusters", previous.clusters.map((c) => c.name), next.clusters.map((c) => c.name)],
  ];
  const before = previous.source === "live" ? "what the clusters hold" : "the previous topology";
  const out: GuardFinding[] = [];
  for (const [what, was, now] of kinds) {
    const total = new Set(was).size;
    const kept = new Set(now);
    const dropped = [...new Set(was)].filter((k) => !kept.has(k)).sort();
    if (dropped.length < MASS_REMOVAL_MIN || dropped.length / total <= MASS_REMOVAL_SHARE) continue;
    const share = Math.round((dropped.length / total) * 100);
    const named =
      dropped.slice(0, MAX_NAMED).join(", ") +
      (dropped.length > MAX_NAMED ? `, and ${dropped.length - MAX_NAMED} more` : "");
    out.push({
      code: "XL641",
      severity: allowedBy ? "info" : "error",
      message: `${dropped.length} of ${total} ${what} removed (${share}%) compared with ${before}: ${named}${allowedBy ? `; allowed by ${allowedBy}` : ""}`,
      explanation: allowedBy
        ? `The change says this mass removal is intended (${allowedBy}).`
        : `Dropping more than half of the ${what} at once is more often a bad merge or a truncated file than an intent, so nothing is applied.`,
      hint: `if it is intended, add the trailer \`${MASS_PRUNE_TRAILER}\` to the commit message (or pass --allow-mass-prune to apply)`,
    });
  }
  return out;
}

/** Where a deleted object came from, read from its labels, kind and name. */
type Origin =
  | { type: "link"; link: { from: string; to: string }; role: LinkRole; namespace?: string }
  | { type: "misplaced"; link: { from: string; to: string } }
  | { type: "split"; cluster: string; namespace: string; service: string; api: SplitApi }
  | { type: "mirror"; link: { from: string; to: string } }
  | { type: "controller-role"; cluster: string }
  | { type: "federated"; links: { from: string; to: string }[] }
  | { type: "unknown" };

/**
 * Which of a link's objects: they depend on different fields of the link.
 * "superseded": what an older crosslink rendered and this one no longer does
 * (the per-link controller ClusterRole, now the chart's shared one).
 */
type LinkRole = "link" | "credentials" | "controller" | "target-access" | "target-token" | "superseded" | "other";

function linkRole(cluster: string, link: { from: string; to: string }, ref: ObjectRef): LinkRole | undefined {
  const n = linkNames(link.from, link.to);
  const is = (kinds: string[], name: string) => kinds.includes(ref.kind) && ref.name === name;
  if (cluster === link.from) {
    if (is(["Link"], n.link)) return "link";
    if (is(["Secret"], n.credentials)) return "credentials";
    if (
      is(["ServiceAccount", "Deployment"], n.controller) ||
      is(["ClusterRoleBinding"], n.controllerClusterRoleBinding) ||
      is(["Role", "RoleBinding"], n.controllerRole) ||
      is(["Service"], n.probeService)
    ) {
      return "controller";
    }
    if (is(["ClusterRole"], n.controllerClusterRoleBinding)) return "superseded";
    return "other";
  }
  if (cluster === link.to) {
    if (is(["ServiceAccount", "ClusterRole", "ClusterRoleBinding"], n.remoteAccess)) return "target-access";
    if (is(["Secret"], n.remoteAccessToken)) return "target-token";
    return "other";
  }
  return undefined;
}

function originOf(d: PlannedDeletion): Origin {
  const link = parseLinkLabel(d.labels[LINK_LABEL]);
  if (link) {
    const role = linkRole(d.cluster, link, d.ref);
    if (!role) return { type: "misplaced", link };
    return { type: "link", link, role, ...(d.ref.namespace ? { namespace: d.ref.namespace } : {}) };
  }
  if (
    d.labels[MANAGED_BY] !== "crosslink" &&
    d.labels[MIRRORED_SERVICE_LABEL] === "true" &&
    d.labels[CLUSTER_NAME_LABEL]
  ) {
    return { type: "mirror", link: { from: d.cluster, to: d.labels[CLUSTER_NAME_LABEL] } };
  }
  if (d.ref.kind === "ClusterRole" && d.ref.name === CONTROLLER_SHARED_CLUSTER_ROLE)
    return { type: "controller-role", cluster: d.cluster };
  if (
    d.labels[MANAGED_BY] !== "crosslink" &&
    d.labels[MIRRORED_SERVICE_LABEL] === "true" &&
    d.federatedMembers?.length
  ) {
    return { type: "federated", links: d.federatedMembers.map((to) => ({ from: d.cluster, to })) };
  }
  const api = splitApiOfGroup(groupOf(d.ref.apiVersion), d.ref.kind);
  const service = splitServiceOf(d.ref.name);
  if (api && service && d.ref.namespace)
    return { type: "split", cluster: d.cluster, namespace: d.ref.namespace, service, api };
  return { type: "unknown" };
}

function findLink(d: Declarations, link: { from: string; to: string }): DeclaredLink | undefined {
  return d.links.find((l) => l.from === link.from && l.to === link.to);
}

/** Whether the declarations would produce this object (unknown fields count as producing it). */
function declares(d: Declarations, origin: Origin): boolean {
  switch (origin.type) {
    case "link": {
      const l = findLink(d, origin.link);
      if (!l || origin.role === "superseded") return false;
      if (origin.role === "controller" && l.controller !== undefined && l.controller !== "managed") return false;
      if (origin.role === "target-token" && l.credentials !== undefined && l.credentials !== "service-account-token")
        return false;
      if (!origin.namespace || origin.role === "other") return true;
      const side = d.clusters.find((c) => c.name === (origin.role.startsWith("target") ? l.to : l.from));
      const allowed =
        origin.role === "credentials"
          ? [side?.multiclusterNamespace, side?.linkerdNamespace]
          : [side?.multiclusterNamespace];
      return allowed.includes(undefined) || allowed.includes(origin.namespace);
    }
    case "split":
      return d.splits.some(
        (s) =>
          s.cluster === origin.cluster &&
          s.namespace === origin.namespace &&
          splitObjectName(s) === splitObjectName(origin) &&
          (s.api === undefined || s.api === origin.api),
      );
    case "mirror":
      return findLink(d, origin.link) !== undefined;
    case "controller-role":
      return d.links.some(
        (l) => l.from === origin.cluster && (l.controller === undefined || l.controller === "managed"),
      );
    case "federated":
      return origin.links.some((l) => findLink(d, l) !== undefined);
    case "misplaced":
    case "unknown":
      return false;
  }
}

/** Why a deletion is not explained, or undefined when the topology no longer declares what it came from. */
function unexplainedBecause(next: Declarations, origin: Origin, cluster: string): string | undefined {
  switch (origin.type) {
    case "unknown":
      return "nothing a topology declares produces it";
    case "misplaced":
      return `labelled for link ${origin.link.from}→${origin.link.to}, which does not involve ${cluster}`;
    case "split":
      return declares(next, origin)
        ? `split ${origin.cluster}/${origin.namespace}/${origin.service} is still declared`
        : undefined;
    case "controller-role":
      return declares(next, origin) ? `${cluster} still has a link with a managed controller` : undefined;
    case "federated":
      return declares(next, origin) ? "a link of one of its members is still declared" : undefined;
    default:
      return declares(next, origin) ? `link ${origin.link.from}→${origin.link.to} is still declared` : undefined;
  }
}

/** XL642: deletions whose origin the topology still declares (or that have none), one finding per cluster. */
export function unexplainedDeletions(
  next: Declarations,
  deletions: readonly PlannedDeletion[],
  allowedBy?: string,
): GuardFinding[] {
  const byCluster = new Map<string, string[]>();
  for (const d of deletions) {
    const because = unexplainedBecause(next, originOf(d), d.cluster);
    if (!because) continue;
    const list = byCluster.get(d.cluster) ?? [];
    list.push(`${describeRef(d.ref)} (${because})`);
    byCluster.set(d.cluster, list);
  }
  return [...byCluster].map(([cluster, items]) => {
    const named =
      items.slice(0, MAX_NAMED).join(", ") + (items.length > MAX_NAMED ? `, and ${items.length - MAX_NAMED} more` : "");
    return {
      code: "XL642",
      severity: allowedBy ? "info" : "error",
      cluster,
      message: `${items.length} deletion(s) in ${cluster} that no change of the topology explains: ${named}${allowedBy ? `; allowed by ${allowedBy}` : ""}`,
      explanation:
        "crosslink deletes what the topology dropped. These objects carry its labels, but the topology still declares what they came from, or nothing it declares produces them: " +
        "a kubeconfig context pointing at another cluster, objects labelled by hand, or objects an older crosslink named differently.",
      hint: `check the cluster and the topology; if the deletions are intended, pass --allow-mass-prune (or add the trailer \`${MASS_PRUNE_TRAILER}\`)`,
    };
  });
}
