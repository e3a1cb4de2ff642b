/**
 * The target side of a link (`linkerd multicluster allow`, one per source):
 * in `to`, a remote-access ServiceAccount, ClusterRole and binding named after
 * the source, so one source can be revoked alone, and for
 * `service-account-token` credentials the long-lived token Secret.
 */
import type { KubeObject } from "../../kube/object.js";
import type { Cluster, Link } from "../../topology/types.js";
import { linkNames } from "../names.js";
import { owned } from "./meta.js";

/** The rules of Linkerd's remote-access ClusterRole (2.14+, for gateway and remote discovery). */
export const REMOTE_ACCESS_RULES = [
  { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list", "get", "watch"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["list", "get", "watch"] },
  { apiGroups: [""], resources: ["pods", "endpoints", "services"], verbs: ["list", "get", "watch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "get", "watch"] },
  { apiGroups: ["policy.linkerd.io"], resources: ["servers"], verbs: ["list", "get", "watch"] },
  { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["linkerd-config"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];

/**
 * The objects a link needs in its target cluster; none when the link uses a
 * remote-access account someone else made (`credentials.serviceAccount`).
 */
export function renderTargetAccess(topology: string, link: Link, to: Cluster): KubeObject[] {
  if (link.credentials.serviceAccount) return [];
  const n = linkNames(link.from, link.to);
  const ns = to.multiclusterNamespace;
  const extra = { link: n.linkLabel, extension: true };
  const objects: KubeObject[] = [
    owned(topology, "v1", "ServiceAccount", n.remoteAccess, ns, {}, extra),
    owned(
      topology,
      "rbac.authorization.k8s.io/v1",
      "ClusterRole",
      n.remoteAccessRole,
      undefined,
      { rules: REMOTE_ACCESS_RULES },
      extra,
    ),
    owned(
      topology,
      "rbac.authorization.k8s.io/v1",
      "ClusterRoleBinding",
      n.remoteAccessRole,
      undefined,
      {
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: n.remoteAccessRole },
        subjects: [{ kind: "ServiceAccount", name: n.remoteAccess, namespace: ns }],
      },
      extra,
    ),
  ];
  if (link.credentials.mode === "service-account-token") {
    objects.push(
      owned(
        topology,
        "v1",
        "Secret",
        n.remoteAccessToken,
        ns,
        { type: "kubernetes.io/service-account-token" },
        {
          ...extra,
          annotations: { "kubernetes.io/service-account.name": n.remoteAccess },
        },
      ),
    );
  }
  return objects;
}
