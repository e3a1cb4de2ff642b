/**
 * The registry of every XL code crosslink reports. The topology stage's codes
 * (XL1xx–XL3xx) live in src/topology/codes.ts; cluster access and plan codes
 * (XL5xx, XL6xx) and the review's rules (XL7xx) live here. A code is one line
 * here (or there) and one row in docs/diagnostics.md; a test checks both ways.
 * Codes never change meaning once released.
 */
import { CODES as TOPOLOGY_CODES } from "./topology/codes.js";
import { CHECK_CODES } from "./check/codes.js";

/** Codes of cluster access and of render's and plan's findings, with their meaning. */
export const ENGINE_CODES = {
  XL501: "a cluster's kubeconfig context does not exist (located at the cluster's `context`)",
  XL601: "the Link CRD is not served in the source cluster",
  XL602: "the target cluster has no `linkerd-gateway` Service",
  XL603: "the target's gateway has no load-balancer address and the topology gives none",
  XL604: "the target's gateway Service lacks the `mc-gateway` port or the identity / probe-path annotations",
  XL605: "the source serves only Link v1alpha1/v1alpha2: excluded labels/annotations are left out",
  XL606: "a link's clusters could not both be observed: its Link and credentials are kept as they are",
  XL607: "credentials renewed for an external controller: restart it",
  XL608:
    "a managed controller's image is unknown: the source's `linkerd-config` has no readable `linkerdVersion` (or it is not an image tag) and the link sets no `controllerImage`; the controller's objects are left as they are",
  XL609:
    "this machine's clock is more than a minute off a link target's API server: token expiry is judged by the target's clock",
  XL611: "an exported Service does not exist (yet)",
  XL621: "no split API is served (or not the one `api` asks for)",
  XL622: "the split's Service does not exist (yet)",
  XL631: "no readable `linkerd-config`: Linkerd is not installed, or another namespace",
  XL632: "the cluster's identity issuer does not chain to the topology's anchors",
  XL633: "crosslink writes the trust bundle (manageTrust): restart meshed workloads afterwards",
  XL634: "the cluster trusts other anchors than the topology (reported only)",
  XL635: "linked clusters hold different anchor sets (`linkerd multicluster check` fails)",
  XL636: "trust rotation: the stage the cluster is in, and why the next stage is not yet allowed",
  XL637:
    "trust rotation skipped a stage: the topology drops an anchor while some cluster's issuer may still chain to it (or a cluster is unobserved); no bundle loses it",
  XL638: "trust rotation skipped a stage: an issuer chains to the next anchor before every cluster's bundle holds it",
  XL641:
    "prune guard: more than half (and at least two) of the declared links, exports or clusters dropped at once; blocks every cluster's plan (`diff`, `apply`, the daemon and `plan`); info when allowed by `--allow-mass-prune` or the `crosslink: allow-mass-prune` trailer",
  XL642:
    "prune guard: a deletion no declared change explains (its link or split is still declared, its link does not involve the cluster, or nothing declared produces it); blocks that cluster's plan; info when allowed as XL641",
} as const;

/** Codes of the review's safety rules (`crosslink plan`), with their meaning. */
export const REVIEW_CODES = {
  XL701: "a removed link is still used by a split",
  XL702: "a removed export is still used by a split in another cluster",
  XL703: "(`--live`) a cluster's issuer chains only to anchors the change removes",
  XL704: "the change removes every trust anchor",
  XL706: "anchors removed; run with `--live` to check the issuers",
  XL707: "the base revision does not load",
} as const;

/** Codes no longer reported, kept so that they are never reused with another meaning. */
export const RETIRED_CODES = {
  XL705: "retired: the review reports mass removal as XL641, the same rule as `apply` and the daemon",
} as const;

/** The prune guard's codes, which the review reports too. */
export const PRUNE_GUARD_CODES = ["XL641", "XL642"] as const satisfies readonly (keyof typeof ENGINE_CODES)[];

/** A cluster access, render or plan code, e.g. `"XL621"`. */
export type EngineCode = keyof typeof ENGINE_CODES;

/** A review rule's code, e.g. `"XL701"`. */
export type ReviewCode = keyof typeof REVIEW_CODES;

/** Every XL code with its meaning, retired ones included, in one table (what docs/diagnostics.md is checked against). */
export const ALL_CODES: Readonly<Record<string, string>> = {
  ...TOPOLOGY_CODES,
  ...ENGINE_CODES,
  ...REVIEW_CODES,
  ...CHECK_CODES,
  ...RETIRED_CODES,
};
