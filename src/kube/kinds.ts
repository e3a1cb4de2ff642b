/**
 * The kind table: every kind crosslink reads or writes, with its REST path
 * parts and its apply rank. Apply runs ranks in ascending order; deletion runs
 * them in reverse (Flux's ssa ordering, as data).
 */
import { SPLIT_APIS } from "../extensions/split-apis.js";
import { groupOf } from "./object.js";

/** What crosslink needs to know about a kind to talk to the API server. */
export interface KindInfo {
  /** Group (`""` for core). */
  group: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Apply order; lower first. */
  rank: number;
  /** Whether crosslink creates and prunes objects of this kind (by owner labels). */
  managed: boolean;
  /** The version crosslink lists with when the kind's version is fixed; absent: discovered per cluster (custom resources). */
  version?: string;
}

/** The API group of Linkerd's `Link`. */
export const LINK_GROUP = "multicluster.linkerd.io";

const table: KindInfo[] = [
  { group: "", kind: "Namespace", plural: "namespaces", namespaced: false, rank: 0, managed: false, version: "v1" },
  {
    group: "",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    namespaced: true,
    rank: 10,
    managed: true,
    version: "v1",
  },
  {
    group: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    plural: "clusterroles",
    namespaced: false,
    rank: 20,
    managed: true,
    version: "v1",
  },
  {
    group: "rbac.authorization.k8s.io",
    kind: "Role",
    plural: "roles",
    namespaced: true,
    rank: 20,
    managed: true,
    version: "v1",
  },
  {
    group: "rbac.authorization.k8s.io",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    namespaced: false,
    rank: 30,
    managed: true,
    version: "v1",
  },
  {
    group: "rbac.authorization.k8s.io",
    kind: "RoleBinding",
    plural: "rolebindings",
    namespaced: true,
    rank: 30,
    managed: true,
    version: "v1",
  },
  { group: "", kind: "ConfigMap", plural: "configmaps", namespaced: true, rank: 40, managed: false, version: "v1" },
  // Read only, by `crosslink check` (mirror endpoints).
  { group: "", kind: "Endpoints", plural: "endpoints", namespaced: true, rank: 50, managed: false, version: "v1" },
  { group: "", kind: "Secret", plural: "secrets", namespaced: true, rank: 40, managed: true, version: "v1" },
  { group: "", kind: "Service", plural: "services", namespaced: true, rank: 50, managed: true, version: "v1" },
  { group: LINK_GROUP, kind: "Link", plural: "links", namespaced: true, rank: 60, managed: true },
  {
    group: "apps",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
    rank: 70,
    managed: true,
    version: "v1",
  },
  // One row per split API (src/extensions/split-apis.ts); the version is discovered.
  ...SPLIT_APIS.map(({ group, kind, plural }) => ({ group, kind, plural, namespaced: true, rank: 80, managed: true })),
  {
    group: "apiextensions.k8s.io",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
    rank: 0,
    managed: false,
    version: "v1",
  },
  {
    group: "coordination.k8s.io",
    kind: "Lease",
    plural: "leases",
    namespaced: true,
    rank: 0,
    managed: false,
    version: "v1",
  },
];

/** Every kind crosslink knows. */
export const KINDS: readonly KindInfo[] = table;

/** The kinds crosslink owns and prunes. */
export const MANAGED_KINDS: readonly KindInfo[] = table.filter((k) => k.managed);

/** The API groups whose served versions observe discovers in every cluster: those of managed kinds without a fixed version. */
export const DISCOVERED_GROUPS: readonly string[] = [
  ...new Set(MANAGED_KINDS.filter((k) => !k.version).map((k) => k.group)),
];

/** The kind entry for an apiVersion + kind; throws for a kind outside the table (a programming error). */
export function kindInfo(apiVersion: string, kind: string): KindInfo {
  const group = groupOf(apiVersion);
  const info = table.find((k) => k.group === group && k.kind === kind);
  if (!info) throw new Error(`kind ${kind} in ${apiVersion} is not in crosslink's kind table`);
  return info;
}

/** The REST path of a collection or object: `/api/v1/namespaces/ns/secrets[/name]`. */
export function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string): string {
  const info = kindInfo(apiVersion, kind);
  const base = info.group === "" ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${info.plural}${name ? `/${encodeURIComponent(name)}` : ""}`;
}
