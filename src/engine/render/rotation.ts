/**
 * Staged trust-anchor rotation, read from what the clusters hold (pure).
 *
 * The topology declares the anchor a rotation moves to with `role: next`
 * beside the current ones. Stage 1: every cluster's bundle (linkerd-config and
 * linkerd-identity-trust-roots) holds the old and the new anchor. Stage 2:
 * every cluster's issuer is reissued from the new anchor (`crosslink certs
 * issuer`), allowed only once stage 1 converged everywhere. Stage 3: the
 * topology drops the old anchor (and the role); the old anchor leaves the
 * bundles only when every cluster's issuer chains to an anchor that stays.
 */
import { bundleFingerprints, chainsTo, sameCertificates } from "../../pki/pem.js";
import type { Topology, TrustAnchor } from "../../topology/types.js";
import type { ClusterFacts } from "../facts.js";
import type { Finding } from "./desired.js";

/** One cluster's place in a rotation. */
export interface ClusterStage {
  cluster: string;
  /** 1: the bundle lacks an anchor of the topology; 2: bundled, issuer not yet on the next anchor; 3: issuer on the next anchor (or, without a next anchor, the old anchors are being dropped). */
  stage: 1 | 2 | 3;
  /** Name of the topology anchor the cluster's issuer chains to; undefined when none (or not observed). */
  issuerAnchor?: string;
  /** Whether the cluster was observed. */
  observed: boolean;
}

/** The mesh's rotation, when one is under way (a `next` anchor, or old anchors still live). */
export interface RotationState {
  /** The `next` anchor; undefined in stage 3 (the topology already dropped the old anchor). */
  next?: TrustAnchor;
  clusters: ClusterStage[];
  /** Clusters that keep the next stage from starting, with why. */
  waitingFor: { cluster: string; why: string }[];
  /** Stage 3 only: the old anchors may leave the bundles (every cluster observed, every issuer on a kept anchor). */
  dropAllowed: boolean;
}

/** The topology anchor an issuer chains to (first match), by name. */
export function issuerAnchorName(topology: Topology, issuerCertPem: string | undefined): string | undefined {
  if (!issuerCertPem) return undefined;
  return topology.trustAnchors.find((a) => chainsTo(issuerCertPem, a.pem))?.name;
}

function holds(f: ClusterFacts, wanted: readonly string[]): boolean {
  const cfg = bundleFingerprints(f.linkerd?.anchorsPem ?? "");
  const roots = f.trustRoots ? bundleFingerprints(f.trustRoots.pem) : cfg;
  return sameCertificates(cfg, wanted) && sameCertificates(roots, wanted);
}

function liveExtra(f: ClusterFacts, wanted: ReadonlySet<string>): boolean {
  const fps = [...bundleFingerprints(f.linkerd?.anchorsPem ?? ""), ...bundleFingerprints(f.trustRoots?.pem ?? "")];
  return fps.some((fp) => !wanted.has(fp));
}

/**
 * The rotation state of the mesh, or undefined when none is under way: a
 * `next` anchor is declared, or (with `manageTrust`) some cluster still holds
 * an anchor the topology no longer lists. `clusters` follows the topology's order.
 */
export function rotationState(topology: Topology, facts: ReadonlyMap<string, ClusterFacts>): RotationState | undefined {
  const wanted = topology.trustAnchors.flatMap((a) => a.fingerprints);
  const next = topology.trustAnchors.find((a) => a.role === "next");
  const wantedSet = new Set(wanted);
  const dropping =
    !next && topology.manageTrust && [...facts.values()].some((f) => f.linkerd && liveExtra(f, wantedSet));
  if (!next && !dropping) return undefined;
  const clusters: ClusterStage[] = [];
  const waitingFor: RotationState["waitingFor"] = [];
  for (const c of topology.clusters) {
    const f = facts.get(c.name);
    if (!f?.linkerd) {
      clusters.push({ cluster: c.name, stage: 1, observed: false });
      waitingFor.push({ cluster: c.name, why: "not observed (unreachable, or no linkerd-config)" });
      continue;
    }
    const issuerAnchor = issuerAnchorName(topology, f.issuerCertPem);
    const s: ClusterStage = { cluster: c.name, stage: 1, observed: true };
    if (issuerAnchor !== undefined) s.issuerAnchor = issuerAnchor;
    if (next) {
      if (!holds(f, wanted)) {
        waitingFor.push({ cluster: c.name, why: "its bundle does not yet hold every anchor of the topology" });
      } else if (issuerAnchor !== next.name) {
        s.stage = 2;
        waitingFor.push({
          cluster: c.name,
          why: `its issuer chains to ${issuerAnchor ? `\`${issuerAnchor}\`` : "no anchor of the topology"}, not \`${next.name}\``,
        });
      } else s.stage = 3;
    } else {
      s.stage = 3;
      // a cluster without an issuer Secret (none readable) has nothing that could chain to the dropped anchor
      if (!issuerAnchor && f.issuerCertPem !== undefined)
        waitingFor.push({ cluster: c.name, why: "its issuer chains to no anchor the topology keeps" });
    }
    clusters.push(s);
  }
  const state: RotationState = { clusters, waitingFor, dropAllowed: !next && waitingFor.length === 0 };
  if (next) state.next = next;
  return state;
}

const STAGE_TEXT = {
  1: "stage 1 of 3 (bundle the old and the new anchor)",
  2: "stage 2 of 3 (reissue the identity issuer from the new anchor)",
  3: "stage 3 of 3 (drop the old anchor)",
} as const;

/** Per-cluster findings of a rotation: XL636 (where the cluster stands, why the next stage waits), XL637/XL638 (a stage skipped). */
export function rotationFindings(state: RotationState, manageTrust: boolean): Finding[] {
  const out: Finding[] = [];
  const waiting = (stage: number) =>
    state.waitingFor
      .filter((w) => (stage === 2 ? true : state.clusters.find((c) => c.cluster === w.cluster)?.stage !== 3))
      .map((w) => `${w.cluster}: ${w.why}`);
  const next = state.next;
  const stage1Done = state.clusters.every((c) => c.observed && c.stage >= 2);
  for (const c of state.clusters) {
    if (!c.observed) continue;
    let message: string;
    let hint: string;
    if (next) {
      const issuer = c.issuerAnchor ? `issuer chains to \`${c.issuerAnchor}\`` : "issuer chains to no topology anchor";
      if (c.stage === 1) {
        message = `${c.cluster}: trust rotation to \`${next.name}\`: ${STAGE_TEXT[1]}; ${issuer}`;
        hint = "crosslink writes the bundle (manageTrust); stage 2 starts once every cluster holds both anchors";
      } else if (c.stage === 2) {
        message = `${c.cluster}: trust rotation to \`${next.name}\`: ${STAGE_TEXT[2]}; ${issuer}`;
        hint = stage1Done
          ? `stage 2 is allowed: crosslink certs issuer --anchor-cert <${next.name}.crt> --anchor-key <${next.name}.key> -f <topology> --cluster ${c.cluster}`
          : `stage 2 is not yet allowed, waiting for: ${waiting(1).join("; ")}`;
      } else {
        const rest = waiting(2);
        message = `${c.cluster}: trust rotation to \`${next.name}\`: issuer reissued from \`${next.name}\`; ${STAGE_TEXT[3]} ${rest.length ? "not yet allowed" : "allowed"}`;
        hint = rest.length
          ? `stage 3 waits for: ${rest.join("; ")}`
          : `remove the old anchor(s) and \`role: next\` from spec.trustAnchors in one change`;
      }
      if (c.issuerAnchor === next.name && !stage1Done)
        out.push({
          severity: "error",
          code: "XL638",
          cluster: c.cluster,
          message: `${c.cluster}: the identity issuer chains to \`${next.name}\` before every cluster's bundle holds it (stage 2 before stage 1 converged): ${waiting(1).join("; ")}`,
          hint: "proxies of the clusters that do not trust the new anchor reject this cluster's identities; let crosslink write the bundle everywhere first",
        });
    } else continue; // stage 3: XL633 says the bundle is written; XL637 below says why it is not
    out.push({ severity: "info", code: "XL636", cluster: c.cluster, message, hint });
  }
  if (!next && !state.dropAllowed && manageTrust) {
    for (const w of state.waitingFor)
      out.push({
        severity: "error",
        code: "XL637",
        cluster: w.cluster,
        message: `${w.cluster}: the topology drops an anchor the clusters still hold, but ${w.why}; the bundle is not written in any cluster (stage 3 before stage 2 converged)`,
        hint: `declare the old anchor again beside the new one (role: next), reissue ${w.cluster}'s issuer with \`crosslink certs issuer\`, then drop it`,
      });
  }
  return out;
}
