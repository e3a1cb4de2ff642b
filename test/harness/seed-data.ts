// The objects a cluster with Linkerd and the multicluster extension holds, as
// data (see reference/linkerd-multicluster.md §1, §3, §5, §7). seed.ts applies
// them; nothing here talks to a cluster.
import type { KubernetesObject } from "@kubernetes/client-node";
import { stringify } from "yaml";

/**
 * The CRDs the harness can install, by their metadata.name (files in test/harness/crds/). The
 * `*.linkerd.io` ones are Linkerd's own chart output (see their header comments); the
 * `servers.policy.linkerd.io` CRD is there because Linkerd's destination ClusterStore reads Servers.
 */
export const CRD_NAMES = [
  "links.multicluster.linkerd.io",
  "httproutes.gateway.networking.k8s.io",
  "httproutes.policy.linkerd.io",
  "servers.policy.linkerd.io",
  "trafficsplits.split.smi-spec.io",
] as const;
export type CrdName = (typeof CRD_NAMES)[number];

export const LINKERD_NAMESPACE = "linkerd";
export const MULTICLUSTER_NAMESPACE = "linkerd-multicluster";
export const REMOTE_ACCESS_SA = "linkerd-service-mirror-remote-access-default";
export const GATEWAY_NAME = "linkerd-gateway";

/** Everything the templates below depend on. */
export interface SeedParams {
  clusterName: string;
  trustDomain: string;
  clusterDomain: string;
  linkerdVersion: string;
  /** PEM bundle written as the trust anchors (one or more certificates). */
  trustAnchorsPem: string;
  issuer: { certPem: string; keyPem: string };
  /** "linkerd.io/tls" (crt.pem/key.pem, the default) or "kubernetes.io/tls" (tls.crt/tls.key/ca.crt). */
  issuerScheme: "linkerd.io/tls" | "kubernetes.io/tls";
  /** IPs (or hostnames) written into the gateway Service's status.loadBalancer.ingress. */
  gatewayAddresses: string[];
  /** Remote-access ServiceAccounts (`linkerd multicluster allow` style); default [REMOTE_ACCESS_SA]. */
  remoteAccessServiceAccounts: string[];
  gateway: boolean;
  sampleServices: boolean;
  /** The shared mirror-controller ClusterRole `multicluster install` renders (Linkerd 2.18+). */
  controllerRole: boolean;
}

/**
 * The rules of the remote-access ClusterRole as Linkerd's chart writes them (2.14+,
 * `remote-access-service-mirror-rbac.yaml`). The harness's own copy: tests compare
 * what crosslink renders with it, so it must not be imported from crosslink.
 */
export const LINKERD_REMOTE_ACCESS_RULES = [
  { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list", "get", "watch"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["list", "get", "watch"] },
  { apiGroups: [""], resources: ["pods", "endpoints", "services"], verbs: ["list", "get", "watch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "get", "watch"] },
  { apiGroups: ["policy.linkerd.io"], resources: ["servers"], verbs: ["list", "get", "watch"] },
  { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["linkerd-config"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];

const createdBy = (p: SeedParams): string => `linkerd/cli ${p.linkerdVersion}`;

/** The `values` document of the linkerd-config ConfigMap. */
export function linkerdConfigValues(p: SeedParams): string {
  const version = p.linkerdVersion;
  return stringify({
    clusterDomain: p.clusterDomain,
    clusterNetworks: "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8",
    controllerImage: "cr.l5d.io/linkerd/controller",
    controllerLogLevel: "info",
    controllerReplicas: 1,
    controlPlaneTracing: false,
    identity: {
      externalCA: false,
      issuer: { scheme: p.issuerScheme, clockSkewAllowance: "20s", issuanceLifetime: "24h0m0s" },
    },
    identityTrustAnchorsPEM: p.trustAnchorsPem,
    identityTrustDomain: p.trustDomain,
    linkerdVersion: version,
    policyController: { image: { name: "cr.l5d.io/linkerd/policy-controller", version: "" } },
    proxy: {
      adminPort: 4191,
      controlPort: 4190,
      image: { name: "cr.l5d.io/linkerd/proxy", version: "" },
      inboundPort: 4143,
      outboundPort: 4140,
    },
    proxyInit: { image: { name: "cr.l5d.io/linkerd/proxy-init" } },
  });
}

/** Namespaces, first (everything else lives in them). */
export function namespaceObjects(p: SeedParams): KubernetesObject[] {
  const ns = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels, annotations },
  });
  const out: KubernetesObject[] = [
    ns(
      LINKERD_NAMESPACE,
      {
        "linkerd.io/is-control-plane": "true",
        "config.linkerd.io/admission-webhooks": "disabled",
        "linkerd.io/control-plane-ns": LINKERD_NAMESPACE,
        "pod-security.kubernetes.io/enforce": "privileged",
      },
      { "linkerd.io/inject": "disabled" },
    ),
    ns(MULTICLUSTER_NAMESPACE, {
      "linkerd.io/extension": "multicluster",
      "pod-security.kubernetes.io/enforce": "privileged",
    }),
  ];
  if (p.sampleServices) {
    out.push(
      ns("emojivoto", {}, { "linkerd.io/inject": "enabled" }),
      ns("test", {}, { "linkerd.io/inject": "enabled" }),
    );
  }
  return out;
}

function issuerSecret(p: SeedParams): KubernetesObject {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const data =
    p.issuerScheme === "kubernetes.io/tls"
      ? { "tls.crt": b64(p.issuer.certPem), "tls.key": b64(p.issuer.keyPem), "ca.crt": b64(p.trustAnchorsPem) }
      : { "crt.pem": b64(p.issuer.certPem), "key.pem": b64(p.issuer.keyPem) };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "linkerd-identity-issuer",
      namespace: LINKERD_NAMESPACE,
      labels: { "linkerd.io/control-plane-component": "identity", "linkerd.io/control-plane-ns": LINKERD_NAMESPACE },
      annotations: { "linkerd.io/created-by": createdBy(p) },
    },
    type: p.issuerScheme === "kubernetes.io/tls" ? "kubernetes.io/tls" : "Opaque",
    data,
  } as KubernetesObject;
}

/** The control plane's config, trust roots and issuer (reference §5). */
export function controlPlaneObjects(p: SeedParams): KubernetesObject[] {
  const labels = {
    "linkerd.io/control-plane-component": "controller",
    "linkerd.io/control-plane-ns": LINKERD_NAMESPACE,
  };
  const annotations = { "linkerd.io/created-by": createdBy(p) };
  const issuer = issuerSecret(p);
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "linkerd-config", namespace: LINKERD_NAMESPACE, labels, annotations },
      data: { values: linkerdConfigValues(p) },
    } as KubernetesObject,
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "linkerd-identity-trust-roots",
        namespace: LINKERD_NAMESPACE,
        labels: { "linkerd.io/control-plane-component": "identity", "linkerd.io/control-plane-ns": LINKERD_NAMESPACE },
        annotations,
      },
      data: { "ca-bundle.crt": p.trustAnchorsPem },
    } as KubernetesObject,
    issuer,
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "linkerd-identity", namespace: LINKERD_NAMESPACE, labels },
    },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "linkerd-destination", namespace: LINKERD_NAMESPACE, labels },
    },
    // `linkerd multicluster install` (without --ignore-cluster) refuses to run without it.
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: "linkerd-heartbeat",
        namespace: LINKERD_NAMESPACE,
        labels: { ...labels, "linkerd.io/control-plane-component": "heartbeat" },
      },
    },
  ];
}

/**
 * The remote-access credentials `install`/`allow` render for each name (reference §3):
 * ClusterRole, ServiceAccount, ClusterRoleBinding. The `<name>-token` Secrets come
 * from remoteAccessTokenSecrets(), applied after the ServiceAccounts exist.
 */
export function remoteAccessObjects(p: SeedParams): KubernetesObject[] {
  const labels = { "linkerd.io/extension": "multicluster", component: "remote-mirror" };
  return p.remoteAccessServiceAccounts.flatMap((name) => [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name, labels, annotations: { "linkerd.io/created-by": createdBy(p) } },
      rules: LINKERD_REMOTE_ACCESS_RULES,
    } as KubernetesObject,
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: MULTICLUSTER_NAMESPACE, labels },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name, labels, annotations: { "linkerd.io/created-by": createdBy(p) } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: MULTICLUSTER_NAMESPACE }],
    } as KubernetesObject,
  ]);
}

/** The ClusterRole the 2.18+ chart renders once and every controller binds to (`controller-clusterrole.yaml`). */
export const CONTROLLER_SHARED_ROLE = "linkerd-multicluster-controller-access-local-resources";

/** The chart's shared controller ClusterRole, when `controllerRole` is set. */
export function controllerRoleObjects(p: SeedParams): KubernetesObject[] {
  if (!p.controllerRole) return [];
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: {
        name: CONTROLLER_SHARED_ROLE,
        labels: { "linkerd.io/extension": "multicluster", component: "controller" },
      },
      rules: [
        {
          apiGroups: [""],
          resources: ["endpoints", "services"],
          verbs: ["list", "get", "watch", "create", "delete", "update"],
        },
        { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "get", "watch"] },
      ],
    } as KubernetesObject,
  ];
}

/** `<sa>-token` Secrets of type kubernetes.io/service-account-token (the token controller fills them). */
export function remoteAccessTokenSecrets(p: SeedParams): KubernetesObject[] {
  return p.remoteAccessServiceAccounts.map(
    (name) =>
      ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: `${name}-token`,
          namespace: MULTICLUSTER_NAMESPACE,
          labels: { "linkerd.io/extension": "multicluster" },
          annotations: { "kubernetes.io/service-account.name": name },
        },
        type: "kubernetes.io/service-account-token",
      }) as KubernetesObject,
  );
}

/** Gateway annotations (reference §3). */
export function gatewayAnnotations(p: SeedParams): Record<string, string> {
  return {
    "mirror.linkerd.io/gateway-identity": `${GATEWAY_NAME}.${MULTICLUSTER_NAMESPACE}.serviceaccount.identity.${LINKERD_NAMESPACE}.${p.trustDomain}`,
    "mirror.linkerd.io/probe-period": "3",
    "mirror.linkerd.io/probe-path": "/ready",
    "mirror.linkerd.io/multicluster-gateway": "true",
    component: "gateway",
    "linkerd.io/created-by": createdBy(p),
  };
}

/** The gateway Service and ServiceAccount (no Deployment: nothing here runs pods). */
export function gatewayObjects(p: SeedParams): KubernetesObject[] {
  if (!p.gateway) return [];
  const labels = { app: GATEWAY_NAME, "linkerd.io/extension": "multicluster" };
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: GATEWAY_NAME, namespace: MULTICLUSTER_NAMESPACE, labels },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: GATEWAY_NAME, namespace: MULTICLUSTER_NAMESPACE, labels, annotations: gatewayAnnotations(p) },
      spec: {
        type: "LoadBalancer",
        selector: { app: GATEWAY_NAME },
        ports: [
          { name: "mc-gateway", port: 4143, protocol: "TCP" },
          { name: "mc-probe", port: 4191, protocol: "TCP" },
        ],
      },
    } as KubernetesObject,
  ];
}

/** status.loadBalancer of the gateway Service, applied through the status subresource. */
export function gatewayStatus(p: SeedParams): KubernetesObject[] {
  if (!p.gateway) return [];
  const isIp = (a: string) => /^[0-9.]+$/.test(a) || a.includes(":");
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: GATEWAY_NAME, namespace: MULTICLUSTER_NAMESPACE },
      status: { loadBalancer: { ingress: p.gatewayAddresses.map((a) => (isIp(a) ? { ip: a } : { hostname: a })) } },
    } as KubernetesObject,
  ];
}

interface SamplePort {
  name: string;
  port: number;
  targetPort: number;
}
/** Sample workloads' Services (no pods): emojivoto and a podinfo/frontend pair. */
export const SAMPLE_SERVICES: { namespace: string; name: string; app: string; ports: SamplePort[] }[] = [
  { namespace: "emojivoto", name: "web-svc", app: "web-svc", ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  {
    namespace: "emojivoto",
    name: "emoji-svc",
    app: "emoji-svc",
    ports: [
      { name: "grpc", port: 8080, targetPort: 8080 },
      { name: "prom", port: 8801, targetPort: 8801 },
    ],
  },
  {
    namespace: "emojivoto",
    name: "voting-svc",
    app: "voting-svc",
    ports: [
      { name: "grpc", port: 8080, targetPort: 8080 },
      { name: "prom", port: 8801, targetPort: 8801 },
    ],
  },
  {
    namespace: "test",
    name: "podinfo",
    app: "podinfo",
    ports: [
      { name: "http", port: 9898, targetPort: 9898 },
      { name: "grpc", port: 9999, targetPort: 9999 },
    ],
  },
  { namespace: "test", name: "frontend", app: "frontend", ports: [{ name: "http", port: 8080, targetPort: 8080 }] },
];

export function sampleServiceObjects(p: SeedParams): KubernetesObject[] {
  if (!p.sampleServices) return [];
  return SAMPLE_SERVICES.map(
    (s) =>
      ({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: s.name, namespace: s.namespace, labels: { app: s.app } },
        spec: {
          type: "ClusterIP",
          selector: { app: s.app },
          ports: s.ports.map((q) => ({ ...q, protocol: "TCP" })),
        },
      }) as KubernetesObject,
  );
}
