/**
 * The split-API table: one row per API a split can be written with. The
 * topology's `SplitApi` type, the draft check, the kind table (hence REST
 * paths, apply order, prune scope and discovery) and render's order of
 * preference derive from it; `engine/render/splits.ts` holds one render
 * function per row (the compiler asks for it), and a test checks that the
 * schema's `api` enum equals the rows. Adding an API: a row here, a render
 * function, the schema's enum and a CRD fixture for the harness.
 */

/** What crosslink needs to know about one split API. */
export interface SplitApiInfo {
  /** The value of a split's `api` field. */
  api: string;
  /** The API group of the route object, discovered in every cluster. */
  group: string;
  kind: string;
  plural: string;
  /** The versions crosslink writes, preferred first; when none is served, the group's newest served version. */
  versions: readonly string[];
  /** How messages name it. */
  title: string;
}

/** Every split API, in render's order of preference when a split names none. */
export const SPLIT_APIS = [
  {
    api: "gateway",
    group: "gateway.networking.k8s.io",
    kind: "HTTPRoute",
    plural: "httproutes",
    versions: ["v1"],
    title: "Gateway API HTTPRoute",
  },
  {
    api: "linkerd",
    group: "policy.linkerd.io",
    kind: "HTTPRoute",
    plural: "httproutes",
    versions: ["v1beta3"],
    title: "Linkerd HTTPRoute",
  },
  {
    api: "smi",
    group: "split.smi-spec.io",
    kind: "TrafficSplit",
    plural: "trafficsplits",
    versions: ["v1alpha2"],
    title: "SMI TrafficSplit",
  },
] as const satisfies readonly SplitApiInfo[];

/** Which API a split is written with (a row of `SPLIT_APIS`). */
export type SplitApi = (typeof SPLIT_APIS)[number]["api"];

/** The values a split's `api` may take, in order of preference. */
export const SPLIT_API_NAMES: readonly SplitApi[] = SPLIT_APIS.map((a) => a.api);

/** The row of one split API. */
export function splitApiInfo(api: SplitApi): SplitApiInfo {
  return SPLIT_APIS.find((a) => a.api === api)!;
}
