/**
 * The codes `crosslink check` reports, with their meaning (registered in
 * src/codes.ts's ALL_CODES and documented in docs/diagnostics.md). A check
 * that passes has no code; a check that warns or fails carries one.
 */

/** Every check code with its meaning; `CHECK_SEVERITY` says whether it warns or fails. */
export const CHECK_CODES = {
  XL901:
    "a cluster cannot be read (no kubeconfig context, or its API server does not answer); its other checks are skipped",
  XL911: "a Link is missing or differs from what crosslink renders (the plan's changes to it are shown)",
  XL912: "a link's credential Secret is missing, or holds no kubeconfig with a token",
  XL913: "a link's credentials do not authenticate against the target cluster",
  XL914: "a link's credentials may not list or watch Services, Endpoints or EndpointSlices in the target",
  XL915: "a link's credentials may read Secrets in the target (the mirror needs no such right)",
  XL916: "a link's token has expired",
  XL917: "a link's token expires soon (less than a quarter of the link's TTL left: renewal at half has been missed)",
  XL918:
    "a link's two credential Secrets (multicluster and Linkerd namespace) hold different kubeconfigs: the destination controller reads the Linkerd-namespace copy",
  XL921: "a managed link's controller Deployment is missing",
  XL922: "a managed link's controller Deployment differs from what crosslink renders (pod template or spec)",
  XL923:
    "no mirror controller holds the link's Lease (`service-mirror-write-<link>`), or its last renewal is older than the lease's duration",
  XL924: "the Link's status, written by the mirror controller, does not show an export as mirrored",
  XL931: "an export has no mirror Service in a source cluster",
  XL932: "a mirror has no ready endpoints (gateway mode: the mirror's Endpoints; other modes: the exported Service's)",
  XL933: "an orphaned mirror: a mirror Service whose link or export is gone",
  XL941: "a cluster has no readable trust bundle (`linkerd-config` or `linkerd-identity-trust-roots`)",
  XL942: "linked clusters hold different trust bundles",
  XL943: "a trust anchor is valid for less than 60 more days",
  XL944: "a trust anchor has expired or is not valid yet",
  XL945: "a cluster's identity issuer is missing or does not chain to an anchor of its trust bundle",
  XL946: "a cluster's identity issuer is valid for less than 60 more days",
  XL947: "a cluster's identity issuer has expired or is not valid yet",
  XL948: "a cluster's `linkerd-config` anchors differ from its `linkerd-identity-trust-roots` bundle",
  XL951: "a split sends to a mirror Service that does not exist",
} as const;

/** A check code, e.g. `"XL931"`. */
export type CheckCode = keyof typeof CHECK_CODES;

/** The codes that are warnings (‼, exit 2); every other code is a failure (×, exit 1). */
export const CHECK_WARNINGS: ReadonlySet<CheckCode> = new Set<CheckCode>([
  "XL917",
  "XL918",
  "XL924",
  "XL932",
  "XL933",
  "XL943",
  "XL946",
  "XL948",
]);
