/**
 * Safety rules of a review: pure checks over base, head and the change list
 * that fail the plan (severity error) with an explanation. Codes are stable:
 *
 * - XL701 a removed link is still used by a split in the linking cluster
 * - XL702 a removed export is still used by a split in another cluster
 * - XL703 (--live) a cluster's observed issuer chains only to removed anchors
 * - XL704 (offline) every anchor at base is removed: no cluster's issuer can chain to head
 * - XL706 (warning) anchors are removed and no issuer was observed: run with --live
 * - XL641 the engine's prune guard (more than half of the links, exports or
 *         clusters, and at least two, dropped at once) without the
 *         `crosslink: allow-mass-prune` trailer on the head commit; the same
 *         rule `apply` and the daemon run (XL705 before)
 */
import { declarationsOf } from "../engine/plan/declarations.js";
import { massRemovals, MASS_PRUNE_TRAILER } from "../engine/plan/prune-guard.js";
import { chainsTo } from "../pki/pem.js";
import type { Topology } from "../topology/types.js";
import { indexTopology, splitsUsing, type TopologyIndex } from "./index-maps.js";
import type { ReviewFinding, TopologyChange } from "./types.js";

export { MASS_PRUNE_TRAILER, MASS_REMOVAL_MIN, MASS_REMOVAL_SHARE } from "../engine/plan/prune-guard.js";

/** How the review names the allowance in messages. */
export const TRAILER_ALLOWANCE = `the \`${MASS_PRUNE_TRAILER}\` trailer`;

/** What a cluster's identity issuer looked like when observed (`--live`). */
export interface ObservedIssuer {
  cluster: string;
  /** The issuer certificate (never the key); undefined when the cluster could not be read or has none. */
  issuerCertPem?: string;
}

/** Inputs of the safety rules beyond base and head. */
export interface SafetyOptions {
  /** Whether the head commit carries the mass-prune trailer. */
  massPruneAllowed: boolean;
  /** Observed issuers (from `--live`); undefined offline. */
  issuers?: readonly ObservedIssuer[];
}

/** Runs every safety rule; findings come in rule order, then the order of the changes. */
export function safetyFindings(
  base: Topology,
  head: Topology,
  changes: readonly TopologyChange[],
  opts: SafetyOptions,
): ReviewFinding[] {
  const h = indexTopology(head);
  return [
    ...removedLinksInUse(h, changes),
    ...removedExportsInUse(h, changes),
    ...anchorRemoval(base, head, changes, opts.issuers),
    ...massRemoval(base, head, opts.massPruneAllowed),
  ];
}

function removedLinksInUse(head: TopologyIndex, changes: readonly TopologyChange[]): ReviewFinding[] {
  const out: ReviewFinding[] = [];
  for (const c of changes) {
    if (c.kind !== "link-removed") continue;
    for (const use of splitsUsing(head, c.from, c.to)) {
      const services = [...new Set(use.split.backends.filter((x) => x.cluster === c.to).map((x) => x.service))].join(
        ", ",
      );
      out.push({
        code: "XL701",
        severity: "error",
        cluster: c.from,
        message: `link ${c.from} → ${c.to} removed: ${c.from} will stop mirroring ${services} from ${c.to}; the split ${use.split.namespace}/${use.split.service} in ${c.from} still sends ${use.percent}% to it`,
        explanation: `A remote split backend is the mirror Service ${c.from} holds while it links to ${c.to}. Without the link the mirror is deleted and that share of requests to ${use.split.service} fails. Remove the backend (or move its weight) in the same change, or keep the link.`,
      });
    }
  }
  return out;
}

function removedExportsInUse(head: TopologyIndex, changes: readonly TopologyChange[]): ReviewFinding[] {
  const out: ReviewFinding[] = [];
  for (const c of changes) {
    if (c.kind !== "export-removed") continue;
    for (const use of splitsUsing(head, undefined, c.cluster, { namespace: c.namespace, service: c.service })) {
      if (use.split.cluster === c.cluster) continue;
      out.push({
        code: "XL702",
        severity: "error",
        cluster: use.split.cluster,
        message: `export ${c.namespace}/${c.service} of ${c.cluster} removed: ${use.split.cluster} will stop mirroring ${c.service} from ${c.cluster}; the split ${use.split.namespace}/${use.split.service} in ${use.split.cluster} still sends ${use.percent}% to it`,
        explanation: `Unexporting ${c.service} deletes its mirror in every linked cluster. The split keeps routing to the vanished mirror and that share of requests fails. Drop the backend from the split first, or keep the export.`,
      });
    }
  }
  return out;
}

function anchorRemoval(
  base: Topology,
  head: Topology,
  changes: readonly TopologyChange[],
  issuers: readonly ObservedIssuer[] | undefined,
): ReviewFinding[] {
  const removed = changes.filter((c) => c.kind === "trust-anchor-removed");
  if (!removed.length) return [];
  const names = [...new Set(removed.map((c) => c.name))].join(", ");
  const basePem = base.trustAnchors.map((a) => a.pem).join("\n");
  const headPem = head.trustAnchors.map((a) => a.pem).join("\n");
  const out: ReviewFinding[] = [];
  const unobserved: string[] = [];
  const observed = new Map((issuers ?? []).map((i) => [i.cluster, i.issuerCertPem]));
  for (const cluster of base.clusters.map((c) => c.name).filter((n) => head.clusters.some((c) => c.name === n))) {
    const pem = observed.get(cluster);
    if (!pem) {
      unobserved.push(cluster);
      continue;
    }
    if (!chainsTo(pem, headPem) && chainsTo(pem, basePem)) {
      out.push({
        code: "XL703",
        severity: "error",
        cluster,
        message: `trust anchor ${names} removed: the identity issuer of ${cluster} still chains to it and to no anchor left in the bundle`,
        explanation: `Every proxy in ${cluster} gets its certificate from that issuer; once the bundle no longer holds its root, the other clusters reject ${cluster}'s identities and cross-cluster mTLS fails. Rotate ${cluster}'s issuer to a remaining anchor first, then remove the old one.`,
      });
    }
  }
  if (!unobserved.length) return out;
  const baseFps = new Set(base.trustAnchors.flatMap((a) => a.fingerprints));
  const kept = head.trustAnchors.flatMap((a) => a.fingerprints).some((fp) => baseFps.has(fp));
  if (!kept) {
    out.push({
      code: "XL704",
      severity: "error",
      message: `trust anchor ${names} removed: no anchor of the base bundle is left, so the issuers of ${unobserved.join(", ")} (which chain to the base bundle) chain to nothing at head`,
      explanation:
        "Rotate in two steps: add the new anchor beside the old one and roll issuers over to it, then remove the old anchor in a later change. Run `crosslink plan --live` to check each cluster's issuer.",
    });
  } else {
    out.push({
      code: "XL706",
      severity: "warning",
      message: `trust anchor ${names} removed: the issuers of ${unobserved.join(", ")} were not checked; other base anchors remain`,
      explanation:
        "Which anchor an issuer chains to is only visible in the cluster. Run `crosslink plan --live` to check that every issuer chains to an anchor that stays.",
    });
  }
  return out;
}

/** The prune guard's mass-removal rule over base and head (the review has no plan, so no deletions). */
function massRemoval(base: Topology, head: Topology, allowed: boolean): ReviewFinding[] {
  return massRemovals(declarationsOf(base), declarationsOf(head), allowed ? TRAILER_ALLOWANCE : undefined).map((f) => ({
    code: f.code,
    severity: f.severity,
    message: f.message,
    explanation:
      f.severity === "error"
        ? `${f.explanation} If it is intended, add the trailer \`${MASS_PRUNE_TRAILER}\` to the head commit's message.`
        : f.explanation,
  }));
}
