/**
 * Names and labels of the objects crosslink renders, in one place, so render,
 * observe and prune agree on them. The naming follows Linkerd's own
 * `link-gen` / `allow` / controller chart (see the multicluster reference).
 */

/** Label marking an object as crosslink's. */
export const MANAGED_BY = "app.kubernetes.io/managed-by";
/** Label naming the topology that owns an object. */
export const TOPOLOGY_LABEL = "crosslink.dev/topology";
/** Label naming the link an object belongs to (`from.to`), for display and selection. */
export const LINK_LABEL = "crosslink.dev/link";

/** Label Linkerd's multicluster chart puts on every object and pod it renders (`mc check`, `mc uninstall` and the chart's policy select by it). */
export const EXTENSION_LABEL = "linkerd.io/extension";
/** The extension label of Linkerd's multicluster objects. */
export const EXTENSION_LABELS: Readonly<Record<string, string>> = { [EXTENSION_LABEL]: "multicluster" };

/**
 * The ClusterRole the multicluster chart renders once per cluster and every
 * controller's ClusterRoleBinding points at. crosslink creates it only where
 * nobody else has (see controllerSharedRole in render/source.ts).
 */
export const CONTROLLER_SHARED_CLUSTER_ROLE = "linkerd-multicluster-controller-access-local-resources";

/** The image repository of Linkerd's controller when linkerd-config names none (the chart's default). */
export const DEFAULT_CONTROLLER_IMAGE = "cr.l5d.io/linkerd/controller";

/** The owner labels every object crosslink owns carries. */
export function ownerLabels(topology: string): Record<string, string> {
  return { [MANAGED_BY]: "crosslink", [TOPOLOGY_LABEL]: topology };
}

/** Label selector matching the objects one topology owns. */
export function ownerSelector(topology: string): string {
  return `${MANAGED_BY}=crosslink,${TOPOLOGY_LABEL}=${topology}`;
}

/** Whether an object's labels mark it as owned by the topology. */
export function isOwned(labels: Record<string, string> | undefined, topology: string): boolean {
  return labels?.[MANAGED_BY] === "crosslink" && labels?.[TOPOLOGY_LABEL] === topology;
}

/** Labels the service mirror puts on the Services it creates. */
export const MIRRORED_SERVICE_LABEL = "mirror.linkerd.io/mirrored-service";
export const CLUSTER_NAME_LABEL = "mirror.linkerd.io/cluster-name";
export const MIRRORED_GATEWAY_LABEL = "mirror.linkerd.io/mirrored-gateway";

/** Names of the objects of one link `from → to`. */
export function linkNames(from: string, to: string) {
  const remoteAccess = `linkerd-service-mirror-remote-access-${from}`;
  return {
    /** The Link, in `from`; equal to the target's name, as the controller requires. */
    link: to,
    credentials: `cluster-credentials-${to}`,
    /** In `to`: the per-source remote-access ServiceAccount, ClusterRole and binding. */
    remoteAccess,
    remoteAccessToken: `${remoteAccess}-token`,
    /** In `from`: the managed mirror controller's objects (Linkerd 2.18 chart names). */
    controller: `controller-${to}`,
    /** The shared ClusterRole (chart name) and this link's binding to it (`<role>-<to>`, as the chart names it). */
    controllerClusterRole: CONTROLLER_SHARED_CLUSTER_ROLE,
    controllerClusterRoleBinding: `${CONTROLLER_SHARED_CLUSTER_ROLE}-${to}`,
    controllerRole: `controller-read-remote-creds-${to}`,
    probeService: `probe-${to}`,
    linkLabel: `${from}.${to}`,
  };
}

/** The mirror name Linkerd gives a service exported from `cluster`. */
export function mirrorName(service: string, cluster: string, federated: boolean): string {
  return federated ? `${service}-federated` : `${service}-${cluster}`;
}
