/**
 * RBAC as sets of single permissions (`group|resource|verb|resourceName`, `*` for any name), and
 * the permissions crosslink needs in a cluster, derived from the code: the managed kinds of
 * src/kube/kinds.ts, the reads of src/engine/observe.ts, the writes of src/engine/apply.ts and
 * src/engine/render/trust.ts, and every rule of the Roles and ClusterRoles the render code grants
 * (Kubernetes lets an account create a role or a binding only with permissions it holds).
 */
import { MANAGED_KINDS } from "../../src/kube/kinds.js";
import type { KubeObject } from "../../src/kube/object.js";
import { eastWest, healthy, renderFacts } from "../unit/engine/mesh.js";

/** One rule of a Role or ClusterRole. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The single permissions of `rules`. */
export function expand(rules: readonly PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules)
    for (const g of r.apiGroups ?? [])
      for (const res of r.resources ?? [])
        for (const v of r.verbs)
          for (const n of r.resourceNames?.length ? r.resourceNames : ["*"]) out.add(`${g}|${res}|${v}|${n}`);
  return out;
}

/** Whether `held` grants `perm` (a named permission is granted by the same one or by the unnamed one). */
export function grants(held: ReadonlySet<string>, perm: string): boolean {
  if (held.has(perm)) return true;
  const [g, res, v] = perm.split("|");
  return held.has(`${g}|${res}|${v}|*`);
}

/** The names of the ConfigMaps crosslink reads and, with spec.manageTrust, writes (observe.ts, trust.ts). */
export const LINKERD_CONFIGMAPS = ["linkerd-config", "linkerd-identity-trust-roots"];

/**
 * The daemon's watches of ConfigMaps in `cluster`, from /status: `NAMESPACE (all)` for the LIST+WATCH of a
 * namespace, `NAMESPACE/NAME` for one of a name (the fallback where that LIST is not granted).
 */
export function linkerdConfigMapWatches(
  watches: readonly { cluster: string; kind: string; namespace?: string; fieldSelector?: string }[],
  cluster: string,
): string[] {
  return watches
    .filter((w) => w.cluster === cluster && w.kind === "ConfigMap")
    .map(
      (w) => `${w.namespace ?? ""}${w.fieldSelector ? `/${w.fieldSelector.replace("metadata.name=", "")}` : " (all)"}`,
    )
    .sort();
}

/**
 * What crosslink itself does in a cluster, by call: cluster-wide except the LIST (and WATCH) of the
 * Linkerd control-plane namespace's ConfigMaps, and where the rendered namespaced Roles put a grant in
 * the multicluster namespace (each returned separately).
 */
export async function requiredPermissions(): Promise<{
  clusterWide: Set<string>;
  linkerdNamespace: Set<string>;
  multiclusterNamespace: Set<string>;
}> {
  // observe.ts: linkerd-config and the trust roots, one LIST of the Linkerd namespace's ConfigMaps (LIST+WATCH from
  // the daemon); by name (below) where this is not granted.
  const linkerdNamespace = expand([{ apiGroups: [""], resources: ["configmaps"], verbs: ["list", "watch"] }]);
  const own: PolicyRule[] = [
    // Every managed kind: listed by owner label (observe; the daemon lists and then watches, kube/watch-cache.ts),
    // server-side applied (PATCH; create when new), pruned.
    ...MANAGED_KINDS.map((k) => ({
      apiGroups: [k.group],
      resources: [k.plural],
      verbs: ["list", "watch", "create", "patch", "delete"],
    })),
    // observe.ts: linkerd-config and the trust roots by name where their namespace's LIST is not granted; the
    // identity issuer and the gateway, read by name: a GET from the CLI, a LIST+WATCH of that one name
    // (fieldSelector metadata.name) from the daemon; the shared controller role, in a LIST of every ClusterRole.
    { apiGroups: [""], resources: ["configmaps"], resourceNames: LINKERD_CONFIGMAPS, verbs: ["get"] },
    { apiGroups: [""], resources: ["secrets", "services"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], verbs: ["get", "list", "watch"] },
    // trust.ts: the trust bundle (spec.manageTrust), written by server-side apply into existing ConfigMaps.
    { apiGroups: [""], resources: ["configmaps"], resourceNames: LINKERD_CONFIGMAPS, verbs: ["patch"] },
    // apply.ts: link credentials from the TokenRequest API; a managed controller's rollout is a patch.
    { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
  ];
  // The roles render grants, from a mesh where both clusters are source and target with a managed controller.
  const topology = await eastWest({
    links: [
      { from: "west", to: "east", controller: "managed", controllerImage: "cr.l5d.io/linkerd/controller:edge-26.8.3" },
      { from: "east", to: "west", controller: "managed", controllerImage: "cr.l5d.io/linkerd/controller:edge-26.8.3" },
    ],
  });
  const desired = renderFacts(topology, [await healthy({ cluster: "east" }), await healthy({ cluster: "west" })]);
  const clusterWide = expand(own);
  const multiclusterNamespace = new Set<string>();
  let roles = 0;
  for (const d of desired.values())
    for (const o of d.objects as KubeObject[]) {
      if (o.kind !== "ClusterRole" && o.kind !== "Role") continue;
      roles++;
      const into = o.kind === "Role" ? multiclusterNamespace : clusterWide;
      for (const p of expand((o.rules as PolicyRule[]) ?? [])) into.add(p);
    }
  if (roles < 3) throw new Error(`render granted only ${roles} roles: the derivation lost its input`);
  return { clusterWide, linkerdNamespace, multiclusterNamespace };
}
