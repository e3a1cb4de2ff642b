/**
 * The source side of a link, in `from`: the `Link` as `linkerd multicluster
 * link-gen` writes it, and for `controller: managed` the mirror controller the
 * 2.18 chart's `controllers` value would render (ServiceAccount, RBAC,
 * Deployment, probe Service).
 */
import type { KubeObject } from "../../kube/object.js";
import type { Cluster, Link } from "../../topology/types.js";
import type { ClusterFacts } from "../facts.js";
import { EXPORT_MODES, type ExportModeInfo } from "../../extensions/export-modes.js";
import { LINK_GROUP } from "../../kube/kinds.js";
import {
  CLUSTER_NAME_LABEL,
  CONTROLLER_SHARED_CLUSTER_ROLE,
  DEFAULT_CONTROLLER_IMAGE,
  EXTENSION_LABELS,
  MIRRORED_GATEWAY_LABEL,
  isOwned,
  linkNames,
} from "../names.js";
import { owned } from "./meta.js";
import type { Finding } from "./desired.js";

/** The Link for `from → to`, or the findings that prevent rendering it. */
export function renderLink(
  topology: string,
  link: Link,
  from: Cluster,
  to: Cluster,
  fromFacts: ClusterFacts,
  toFacts: ClusterFacts,
): { object?: KubeObject; findings: Finding[] } {
  const findings: Finding[] = [];
  const n = linkNames(link.from, link.to);
  const version = fromFacts.served[LINK_GROUP]?.[0];
  if (!version) {
    findings.push({
      severity: "error",
      code: "XL601",
      cluster: from.name,
      message: `link ${link.from}→${link.to}: the Link CRD (${LINK_GROUP}) is not served in ${from.name}`,
      hint: "install the Linkerd multicluster extension in the source cluster",
    });
  }
  const gw = toFacts.gateway;
  const addresses = to.gateway?.addresses?.length ? to.gateway.addresses : (gw?.addresses ?? []);
  const port = to.gateway?.port ?? gw?.port;
  if (!gw) {
    findings.push({
      severity: "error",
      code: "XL602",
      cluster: from.name,
      message: `link ${link.from}→${link.to}: ${to.name} has no Service ${to.multiclusterNamespace}/linkerd-gateway`,
      hint: "install the multicluster extension with its gateway in the target cluster",
    });
  } else if (!addresses.length) {
    findings.push({
      severity: "error",
      code: "XL603",
      cluster: from.name,
      message: `link ${link.from}→${link.to}: the gateway of ${to.name} has no load-balancer address`,
      hint: `set spec.clusters[${to.name}].gateway.addresses in the topology`,
    });
  } else if (!port || !gw.identity || !gw.probePath) {
    findings.push({
      severity: "error",
      code: "XL604",
      cluster: from.name,
      message: `link ${link.from}→${link.to}: the gateway Service of ${to.name} lacks ${[!port && "port mc-gateway", !gw.identity && "annotation mirror.linkerd.io/gateway-identity", !gw.probePath && "annotation mirror.linkerd.io/probe-path"].filter(Boolean).join(", ")}`,
    });
  }
  if (findings.length || !gw || !version) return { findings };

  const spec: Record<string, unknown> = {
    targetClusterName: link.to,
    targetClusterDomain: toFacts.linkerd?.clusterDomain ?? to.clusterDomain,
    targetClusterLinkerdNamespace: to.linkerdNamespace,
    clusterCredentialsSecret: n.credentials,
    gatewayAddress: addresses.join(","),
    gatewayPort: String(port),
    gatewayIdentity: gw.identity,
    probeSpec: {
      path: gw.probePath,
      port: String(gw.probePort ?? 4191),
      period: gw.probePeriod ?? "3s",
    },
  };
  for (const m of EXPORT_MODES as readonly ExportModeInfo[]) {
    if (!m.linkVersionsWithout.includes(version)) spec[m.linkSelector] = { matchLabels: { [m.label]: m.value } };
  }
  if (version !== "v1alpha1" && version !== "v1alpha2") {
    if (link.excludedLabels.length) spec.excludedLabels = link.excludedLabels;
    if (link.excludedAnnotations.length) spec.excludedAnnotations = link.excludedAnnotations;
  } else if (link.excludedLabels.length || link.excludedAnnotations.length) {
    findings.push({
      severity: "warning",
      code: "XL605",
      cluster: from.name,
      message: `link ${link.from}→${link.to}: ${from.name} serves Link ${version} only; excludedLabels/excludedAnnotations need v1alpha3 and are left out`,
    });
  }
  // `linkerd multicluster check` warns unless created-by names the cluster's Linkerd CLI version.
  const createdBy = fromFacts.linkerd?.version ? `linkerd/cli ${fromFacts.linkerd.version}` : "crosslink";
  const object = owned(
    topology,
    `${LINK_GROUP}/${version}`,
    "Link",
    n.link,
    from.multiclusterNamespace,
    { spec },
    {
      link: n.linkLabel,
      annotations: { "linkerd.io/created-by": createdBy },
    },
  );
  return { object, findings };
}

/**
 * The controller image of a managed link: the topology's `controllerImage`,
 * else linkerd-config's controller image at the cluster's Linkerd version (the
 * chart's `controllerDefaults.image`). No version, no guess: XL608.
 */
export function controllerImage(link: Link, fromFacts: ClusterFacts): { image?: string; finding?: Finding } {
  if (link.controllerImage) return { image: link.controllerImage };
  const l = fromFacts.linkerd;
  const tag = l?.controllerImageVersion || l?.version;
  if (tag && IMAGE_TAG.test(tag)) return { image: `${l?.controllerImage || DEFAULT_CONTROLLER_IMAGE}:${tag}` };
  return {
    finding: {
      severity: "error",
      code: "XL608",
      cluster: link.from,
      message: `link ${link.from}→${link.to}: the mirror controller's image is unknown: ${!l ? "linkerd-config is not readable" : tag ? `linkerd-config's version ${JSON.stringify(tag)} is not an image tag` : "linkerd-config names no linkerdVersion"} in ${link.from}; the controller is left as it is`,
      hint: `set spec.links[${link.from}→${link.to}].controllerImage (e.g. ${DEFAULT_CONTROLLER_IMAGE}:<the cluster's Linkerd version>)`,
    },
  };
}

/** An OCI tag: what may follow `:` in an image reference. */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * The shared controller ClusterRole of a source cluster, when crosslink must
 * create it: not when it exists and is not crosslink's (the chart's `install`
 * renders it; crosslink binds to it and never takes it over or prunes it).
 */
export function controllerSharedRole(topology: string, fromFacts: ClusterFacts): KubeObject | undefined {
  const live = fromFacts.controllerSharedRole;
  if (live && !isOwned(live.metadata.labels, topology)) return undefined;
  return owned(
    topology,
    "rbac.authorization.k8s.io/v1",
    "ClusterRole",
    CONTROLLER_SHARED_CLUSTER_ROLE,
    undefined,
    {
      rules: [
        {
          apiGroups: [""],
          resources: ["endpoints", "services"],
          verbs: ["list", "get", "watch", "create", "delete", "update"],
        },
        { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "get", "watch"] },
      ],
    },
    { extension: true, labels: { component: "controller" } },
  );
}

/** The pod's API credentials as the chart mounts them: a projected, bounded token instead of the automounted one. */
const KUBE_API_ACCESS_VOLUME = {
  name: "kube-api-access",
  projected: {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
      { configMap: { items: [{ key: "ca.crt", path: "ca.crt" }], name: "kube-root-ca.crt" } },
      {
        downwardAPI: {
          items: [{ fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" }, path: "namespace" }],
        },
      },
    ],
  },
};

/**
 * The managed mirror controller of `from → to` (Linkerd 2.18 chart
 * `controllers` entry), or the XL608 finding when its image is unknown.
 */
export function renderController(
  topology: string,
  link: Link,
  from: Cluster,
  fromFacts: ClusterFacts,
): { objects: KubeObject[]; findings: Finding[] } {
  const { image, finding } = controllerImage(link, fromFacts);
  if (!image) return { objects: [], findings: [finding!] };
  const n = linkNames(link.from, link.to);
  const ns = from.multiclusterNamespace;
  const extra = {
    link: n.linkLabel,
    extension: true,
    labels: { component: "controller", [CLUSTER_NAME_LABEL]: n.clusterNameLabel },
  };
  const rbac = "rbac.authorization.k8s.io/v1";
  // The selector stays without the extension label: a Deployment's selector cannot change in place.
  const selector = { component: "controller", [CLUSTER_NAME_LABEL]: n.clusterNameLabel };
  const objects = [
    owned(topology, "v1", "ServiceAccount", n.controller, ns, {}, extra),
    owned(
      topology,
      rbac,
      "ClusterRoleBinding",
      n.controllerClusterRoleBinding,
      undefined,
      {
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: n.controllerClusterRole },
        subjects: [{ kind: "ServiceAccount", name: n.controller, namespace: ns }],
      },
      extra,
    ),
    owned(
      topology,
      rbac,
      "Role",
      n.controllerRole,
      ns,
      {
        rules: [
          { apiGroups: [""], resources: ["secrets"], resourceNames: [n.credentials], verbs: ["list", "get", "watch"] },
          { apiGroups: ["multicluster.linkerd.io"], resources: ["links"], verbs: ["list", "get", "watch"] },
          { apiGroups: ["multicluster.linkerd.io"], resources: ["links/status"], verbs: ["update", "patch"] },
          { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create", "get", "update", "patch"] },
        ],
      },
      extra,
    ),
    owned(
      topology,
      rbac,
      "RoleBinding",
      n.controllerRole,
      ns,
      {
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: n.controllerRole },
        subjects: [{ kind: "ServiceAccount", name: n.controller, namespace: ns }],
      },
      extra,
    ),
    owned(
      topology,
      "apps/v1",
      "Deployment",
      n.controller,
      ns,
      {
        spec: {
          replicas: 1,
          revisionHistoryLimit: 10,
          selector: { matchLabels: selector },
          template: {
            metadata: {
              labels: { ...EXTENSION_LABELS, ...selector },
              annotations: {
                "linkerd.io/inject": "enabled",
                "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
                "config.alpha.linkerd.io/proxy-wait-before-exit-seconds": "0",
              },
            },
            spec: {
              automountServiceAccountToken: false,
              serviceAccountName: n.controller,
              securityContext: { seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "controller",
                  image,
                  args: [
                    "service-mirror",
                    "-log-level=info",
                    "-log-format=plain",
                    "-event-requeue-limit=3",
                    `-namespace=${ns}`,
                    "-enable-pprof=false",
                    `-probe-service=${n.probeService}`,
                    link.to,
                  ],
                  ports: [{ containerPort: 9999, name: "ctrl-admin" }],
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    runAsUser: 2103,
                    runAsGroup: 2103,
                    seccompProfile: { type: "RuntimeDefault" },
                  },
                  volumeMounts: [
                    {
                      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
                      name: KUBE_API_ACCESS_VOLUME.name,
                      readOnly: true,
                    },
                  ],
                },
              ],
              volumes: [KUBE_API_ACCESS_VOLUME],
            },
          },
        },
      },
      extra,
    ),
    owned(
      topology,
      "v1",
      "Service",
      n.probeService,
      ns,
      {
        spec: { ports: [{ name: "mc-probe", port: 4191, protocol: "TCP" }] },
      },
      {
        link: n.linkLabel,
        extension: true,
        labels: { [MIRRORED_GATEWAY_LABEL]: "true", [CLUSTER_NAME_LABEL]: n.clusterNameLabel },
        ...(fromFacts.linkerd?.version
          ? { annotations: { "linkerd.io/created-by": `linkerd/cli ${fromFacts.linkerd.version}` } }
          : {}),
      },
    ),
  ];
  return { objects, findings: [] };
}
