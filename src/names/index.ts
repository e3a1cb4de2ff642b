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

/**
 * Kubernetes' limits on names and label values: DNS-1123 labels (namespaces,
 * most names that become host names), DNS-1035 labels (Service names),
 * DNS-1123 subdomains (most object names), label values, and RBAC names
 * (path segments, no length limit).
 */
export const NAME_LIMITS = {
  "dns1123-label": 63,
  "dns1035-label": 63,
  "dns1123-subdomain": 253,
  "label-value": 63,
  "path-segment": Infinity,
} as const;

/** Which Kubernetes rule a derived name must satisfy. */
export type NameRule = keyof typeof NAME_LIMITS;

/** One row of the derived-names table: what the name is, its rule, and how it is made from a link's ends. */
export interface LinkNameRow {
  /** What the name names, for messages (e.g. "probe Service (in the source cluster)"). */
  what: string;
  rule: NameRule;
  make(from: string, to: string): string;
  /** Only rendered for links with `controller: managed`. */
  managedOnly?: boolean;
}

/**
 * Every name and label value crosslink derives for a link `from → to`, with
 * its Kubernetes rule. Render takes names only from here (`linkNames`) and
 * validation checks every row (rule XL217), so what validates renders. A name
 * that changes (e.g. to share Linkerd's chart names) changes in one row.
 */
export const LINK_NAME_TABLE = {
  /** The Link, in `from`; equal to the target's name, as the controller requires. */
  link: { what: "Link", rule: "dns1123-subdomain", make: (_f: string, t: string) => t },
  credentials: {
    what: "credentials Secret",
    rule: "dns1123-subdomain",
    make: (_f: string, t: string) => `cluster-credentials-${t}`,
  },
  /** In `to`: the per-source remote-access ServiceAccount, ClusterRole and binding. */
  remoteAccess: {
    what: "remote-access ServiceAccount",
    rule: "dns1123-subdomain",
    make: (f: string) => `linkerd-service-mirror-remote-access-${f}`,
  },
  remoteAccessRole: {
    what: "remote-access ClusterRole and binding",
    rule: "path-segment",
    make: (f: string) => `linkerd-service-mirror-remote-access-${f}`,
  },
  remoteAccessToken: {
    what: "remote-access token Secret",
    rule: "dns1123-subdomain",
    make: (f: string) => `linkerd-service-mirror-remote-access-${f}-token`,
  },
  /** In `from`: the managed mirror controller's objects (Linkerd 2.18 chart names). */
  controller: {
    what: "controller ServiceAccount and Deployment",
    rule: "dns1123-subdomain",
    make: (_f: string, t: string) => `controller-${t}`,
    managedOnly: true,
  },
  /** Linkerd's proxy injector labels the controller's pods with their Deployment's name. */
  controllerPodLabel: {
    what: "`linkerd.io/proxy-deployment` label of the controller's pods",
    rule: "label-value",
    make: (_f: string, t: string) => `controller-${t}`,
    managedOnly: true,
  },
  /** The shared ClusterRole (chart name) and this link's binding to it (`<role>-<to>`, as the chart names it). */
  controllerClusterRole: {
    what: "shared controller ClusterRole",
    rule: "path-segment",
    make: () => CONTROLLER_SHARED_CLUSTER_ROLE,
    managedOnly: true,
  },
  controllerClusterRoleBinding: {
    what: "controller ClusterRoleBinding",
    rule: "path-segment",
    make: (_f: string, t: string) => `${CONTROLLER_SHARED_CLUSTER_ROLE}-${t}`,
    managedOnly: true,
  },
  controllerRole: {
    what: "controller Role and binding",
    rule: "path-segment",
    make: (_f: string, t: string) => `controller-read-remote-creds-${t}`,
    managedOnly: true,
  },
  probeService: {
    what: "probe Service",
    rule: "dns1035-label",
    make: (_f: string, t: string) => `probe-${t}`,
    managedOnly: true,
  },
  clusterNameLabel: {
    what: "`mirror.linkerd.io/cluster-name` label",
    rule: "label-value",
    make: (_f: string, t: string) => t,
  },
  linkLabel: { what: "`crosslink.dev/link` label", rule: "label-value", make: (f: string, t: string) => `${f}.${t}` },
} satisfies Record<string, LinkNameRow>;

/** Names of the objects of one link `from → to` (every row of `LINK_NAME_TABLE`). */
export function linkNames(from: string, to: string): { [K in keyof typeof LINK_NAME_TABLE]: string } {
  const out = {} as { [K in keyof typeof LINK_NAME_TABLE]: string };
  for (const [k, row] of Object.entries(LINK_NAME_TABLE) as [keyof typeof LINK_NAME_TABLE, LinkNameRow][])
    out[k] = row.make(from, to);
  return out;
}

/** The rule of mirror Service names (Linkerd's service mirror creates them; Service names are DNS-1035 labels). */
export const MIRROR_NAME_RULE: NameRule = "dns1035-label";

/** The mirror name Linkerd gives a service exported from `cluster`. */
export function mirrorName(service: string, cluster: string, federated: boolean): string {
  return federated ? `${service}-federated` : `${service}-${cluster}`;
}

/** The rule of split object names (HTTPRoute, TrafficSplit: DNS-1123 subdomains). */
export const SPLIT_NAME_RULE: NameRule = "dns1123-subdomain";

/** What a split object's name adds to its Service's name. */
export const SPLIT_SUFFIX = "-split";

/** The name of the object a split of `service` renders to. */
export function splitName(service: string): string {
  return `${service}${SPLIT_SUFFIX}`;
}

/** Whether `name` satisfies `rule`'s length limit. */
export function fitsLimit(name: string, rule: NameRule): boolean {
  return name.length <= NAME_LIMITS[rule];
}
