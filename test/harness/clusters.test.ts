// Proves the harness clusters are real: two seeded kube-harness clusters started
// once for this file, exercised through kubectl and @kubernetes/client-node.
// First: @peculiar/x509 needs a Reflect metadata polyfill before it loads.
import "reflect-metadata";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import * as x509 from "@peculiar/x509";
import { parse } from "yaml";
import { startClusters, type StartedClusters } from "./driver.js";
import { pollUntil } from "./kube.js";
import { isSignedBy } from "./pki.js";
import { GATEWAY_NAME, MULTICLUSTER_NAMESPACE, REMOTE_ACCESS_SA } from "./seed-data.js";
import { REMOTE_ACCESS_RULES } from "../../src/engine/render/target.js";

const run = promisify(execFile);
const KUBECTL = "/usr/bin/kubectl";

let env: StartedClusters;
let east: KubeConfig;
let west: KubeConfig;
const core = (kc: KubeConfig) => kc.makeApiClient(CoreV1Api);
const custom = (kc: KubeConfig) => kc.makeApiClient(CustomObjectsApi);

async function httpCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiException) return e.code;
    throw e;
  }
}

/** A KubeConfig for the current cluster of `kc` that authenticates with a bearer token. */
function withToken(kc: KubeConfig, token: string): KubeConfig {
  const cluster = kc.getCurrentCluster()!;
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "sa", token }],
    contexts: [{ name: "sa", cluster: cluster.name, user: "sa" }],
    currentContext: "sa",
  });
  return out;
}

before(
  async () => {
    env = await startClusters(["east", "west"]);
    east = env.kubeConfig("east");
    west = env.kubeConfig("west");
  },
  { timeout: 180_000 },
);

after(
  async () => {
    await env?.stop();
  },
  { timeout: 30_000 },
);

describe("kube-harness clusters", { timeout: 120_000 }, () => {
  it("merged kubeconfig works for kubectl, one context per cluster", async () => {
    for (const name of ["east", "west"]) {
      const { stdout } = await run(KUBECTL, [
        "--kubeconfig",
        env.kubeconfigPath,
        "--context",
        name,
        "get",
        "ns",
        "-o",
        "name",
      ]);
      const names = stdout.trim().split("\n");
      for (const ns of [
        "namespace/default",
        "namespace/kube-system",
        "namespace/linkerd",
        "namespace/linkerd-multicluster",
      ]) {
        assert.ok(names.includes(ns), `${name}: ${ns} in ${names.join(",")}`);
      }
    }
    const { stdout } = await run(KUBECTL, ["--kubeconfig", env.kubeconfigPath, "config", "get-contexts", "-o", "name"]);
    assert.deepEqual(stdout.trim().split("\n").sort(), ["east", "west"]);
    const servers = env.clusters.map((c) => c.server);
    assert.ok(servers.every((s) => /^https:\/\/127\.0\.0\.1:\d+$/.test(s)));
    assert.equal(new Set(servers).size, 2);
  });

  it("enforces RBAC: a ServiceAccount without rights gets 403 listing secrets", async () => {
    const api = core(east);
    await api.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "nobody" } } });
    const tr = await api.createNamespacedServiceAccountToken({
      name: "nobody",
      namespace: "default",
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tr.status?.token;
    assert.ok(token, "TokenRequest returned a token");
    const asNobody = core(withToken(east, token));
    assert.equal(await httpCode(asNobody.listNamespacedSecret({ namespace: "default" })), 403);
    assert.equal(await httpCode(asNobody.listNamespace()), 403);
    // A token is not accepted by the other cluster (different signing key).
    assert.equal(await httpCode(core(withToken(west, token)).listNamespacedSecret({ namespace: "default" })), 401);
  });

  it("fills a kubernetes.io/service-account-token Secret (token controller)", async () => {
    const api = core(east);
    await api.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "robot" } } });
    await api.createNamespacedSecret({
      namespace: "default",
      body: {
        metadata: { name: "robot-token", annotations: { "kubernetes.io/service-account.name": "robot" } },
        type: "kubernetes.io/service-account-token",
      },
    });
    const s = await pollUntil(
      "robot-token filled",
      async () => {
        const sec = await api.readNamespacedSecret({ name: "robot-token", namespace: "default" });
        return sec.data?.token ? sec : undefined;
      },
      20_000,
    );
    assert.ok(s.data?.["ca.crt"]);
    assert.equal(Buffer.from(s.data!.namespace!, "base64").toString(), "default");
    // The legacy token authenticates as the ServiceAccount.
    const token = Buffer.from(s.data!.token!, "base64").toString();
    assert.equal(await httpCode(core(withToken(east, token)).listNamespacedSecret({ namespace: "default" })), 403);
  });

  it("serves the Link CRD and applies probeSpec defaults", async () => {
    const api = custom(east);
    await api.createNamespacedCustomObject({
      group: "multicluster.linkerd.io",
      version: "v1alpha3",
      namespace: MULTICLUSTER_NAMESPACE,
      plural: "links",
      body: {
        apiVersion: "multicluster.linkerd.io/v1alpha3",
        kind: "Link",
        metadata: { name: "west" },
        spec: {
          targetClusterName: "west",
          gatewayAddress: "203.0.113.11",
          gatewayPort: "4143",
          probeSpec: { path: "/ready", port: "4191", period: "3s" },
          selector: { matchLabels: { "mirror.linkerd.io/exported": "true" } },
          excludedLabels: ["example.com/*"],
        },
      },
    });
    for (const version of ["v1alpha3", "v1alpha2", "v1alpha1"]) {
      const link = (await api.getNamespacedCustomObject({
        group: "multicluster.linkerd.io",
        version,
        namespace: MULTICLUSTER_NAMESPACE,
        plural: "links",
        name: "west",
      })) as { apiVersion: string; spec: { probeSpec: Record<string, string> } };
      assert.equal(link.apiVersion, `multicluster.linkerd.io/${version}`);
      assert.equal(link.spec.probeSpec.failureThreshold, "3", version);
      assert.equal(link.spec.probeSpec.timeout, "30s", version);
      assert.equal(link.spec.probeSpec.path, "/ready");
    }
    // A bad selector operator is rejected by the schema.
    const bad = api.createNamespacedCustomObject({
      group: "multicluster.linkerd.io",
      version: "v1alpha3",
      namespace: MULTICLUSTER_NAMESPACE,
      plural: "links",
      body: {
        apiVersion: "multicluster.linkerd.io/v1alpha3",
        kind: "Link",
        metadata: { name: "bad" },
        spec: { selector: { matchExpressions: [{ key: "a", operator: "Bogus" }] } },
      },
    });
    assert.equal(await httpCode(bad), 422);
  });

  it("serves HTTPRoute (Gateway API and policy.linkerd.io) and TrafficSplit with their schemas", async () => {
    const api = custom(east);
    const route = (group: string, version: string) => ({
      apiVersion: `${group}/${version}`,
      kind: "HTTPRoute",
      metadata: { name: "podinfo-split", namespace: "test" },
      spec: {
        parentRefs: [{ name: "podinfo", kind: "Service", group: "core", port: 9898 }],
        rules: [
          {
            backendRefs: [
              { name: "podinfo", port: 9898, weight: 50 },
              { name: "podinfo-west", port: 9898 },
            ],
          },
        ],
      },
    });
    for (const [group, version] of [
      ["gateway.networking.k8s.io", "v1"],
      ["policy.linkerd.io", "v1beta3"],
    ] as const) {
      const created = (await api.createNamespacedCustomObject({
        group,
        version,
        namespace: "test",
        plural: "httproutes",
        body: route(group, version),
      })) as { spec: { rules: { backendRefs: Record<string, unknown>[]; matches: unknown[] }[] } };
      const refs = created.spec.rules[0]!.backendRefs;
      assert.equal(refs[1]!.weight, 1, `${group}: default weight`);
      assert.equal(refs[1]!.kind, "Service");
      assert.equal(refs[1]!.group, "");
      assert.deepEqual(created.spec.rules[0]!.matches, [{ path: { type: "PathPrefix", value: "/" } }]);
    }
    const ts = (version: string, weight: unknown, withBackends = true) => ({
      apiVersion: `split.smi-spec.io/${version}`,
      kind: "TrafficSplit",
      metadata: { name: `podinfo-${version}-${withBackends}`, namespace: "test" },
      spec: {
        service: "podinfo",
        ...(withBackends
          ? {
              backends: [
                { service: "podinfo", weight },
                { service: "podinfo-west", weight },
              ],
            }
          : {}),
      },
    });
    const create = (version: string, body: object) =>
      api.createNamespacedCustomObject({
        group: "split.smi-spec.io",
        version,
        namespace: "test",
        plural: "trafficsplits",
        body,
      });
    assert.equal(await httpCode(create("v1alpha1", ts("v1alpha1", "500m"))), 200);
    assert.equal(await httpCode(create("v1alpha2", ts("v1alpha2", 50))), 200);
    assert.equal(await httpCode(create("v1alpha2", ts("v1alpha2", "50"))), 422);
    assert.equal(await httpCode(create("v1alpha1", ts("v1alpha1", 1, false))), 422);
  });

  it("seeds linkerd-config, trust roots and an issuer signed by the shared trust anchor", async () => {
    for (const [name, kc] of [
      ["east", east],
      ["west", west],
    ] as const) {
      const api = core(kc);
      const cfg = await api.readNamespacedConfigMap({ name: "linkerd-config", namespace: "linkerd" });
      const values = parse(cfg.data!.values!) as Record<string, unknown>;
      assert.equal(values.identityTrustAnchorsPEM, env.trustAnchorPem, name);
      assert.equal(values.identityTrustDomain, "cluster.local");
      assert.equal(values.clusterDomain, "cluster.local");
      assert.equal(values.linkerdVersion, "edge-25.10.7");
      const roots = await api.readNamespacedConfigMap({ name: "linkerd-identity-trust-roots", namespace: "linkerd" });
      assert.equal(roots.data!["ca-bundle.crt"], env.trustAnchorPem);
      const issuer = await api.readNamespacedSecret({ name: "linkerd-identity-issuer", namespace: "linkerd" });
      const crt = Buffer.from(issuer.data!["crt.pem"]!, "base64").toString();
      assert.ok(Buffer.from(issuer.data!["key.pem"]!, "base64").toString().includes("EC PRIVATE KEY"));
      assert.ok(await isSignedBy(crt, env.trustAnchorPem), `${name}: issuer signed by anchor`);
      const cert = new x509.X509Certificate(crt);
      assert.equal(cert.subject, "CN=identity.linkerd.cluster.local");
      assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, true);
      assert.equal((cert.publicKey.algorithm as { namedCurve?: string }).namedCurve, "P-256");
      const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000;
      assert.ok(days >= 364 && days <= 366, `issuer valid ~1 year, got ${days}`);
      const mc = await api.readNamespace({ name: MULTICLUSTER_NAMESPACE });
      assert.equal(mc.metadata?.labels?.["linkerd.io/extension"], "multicluster");
      // What Linkerd's code reads besides: the heartbeat ServiceAccount (`multicluster install` checks it),
      // the Server CRD (the destination ClusterStore lists Servers) and the chart's shared controller role.
      await api.readNamespacedServiceAccount({ name: "linkerd-heartbeat", namespace: "linkerd" });
      // Right after a CRD is Established its storage may still answer 429 "(re)initializing" for a moment.
      const servers = await pollUntil(
        "Servers listable",
        () =>
          custom(kc).listClusterCustomObject({
            group: "policy.linkerd.io",
            version: "v1beta3",
            plural: "servers",
          }) as Promise<{ items: unknown[] }>,
        10_000,
      );
      assert.deepEqual(servers.items, []);
      const role = await kc
        .makeApiClient(RbacAuthorizationV1Api)
        .readClusterRole({ name: "linkerd-multicluster-controller-access-local-resources" });
      assert.equal(role.metadata?.labels?.["linkerd.io/extension"], "multicluster");
    }
    const anchor = new x509.X509Certificate(env.trustAnchorPem);
    assert.equal(anchor.subject, "CN=root.linkerd.cluster.local");
    assert.equal(anchor.subject, anchor.issuer);
    assert.equal(anchor.getExtension(x509.BasicConstraintsExtension)?.ca, true);
  });

  it("seeds the gateway Service with annotations, ports and load-balancer status", async () => {
    const addrs = new Set<string>();
    for (const kc of [east, west]) {
      const svc = await core(kc).readNamespacedService({ name: GATEWAY_NAME, namespace: MULTICLUSTER_NAMESPACE });
      assert.equal(svc.spec?.type, "LoadBalancer");
      const ports = Object.fromEntries((svc.spec?.ports ?? []).map((p) => [p.name, p.port]));
      assert.deepEqual(ports, { "mc-gateway": 4143, "mc-probe": 4191 });
      const a = svc.metadata?.annotations ?? {};
      assert.equal(
        a["mirror.linkerd.io/gateway-identity"],
        "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
      );
      assert.equal(a["mirror.linkerd.io/probe-period"], "3");
      assert.equal(a["mirror.linkerd.io/probe-path"], "/ready");
      assert.equal(a["mirror.linkerd.io/multicluster-gateway"], "true");
      const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
      assert.match(ip ?? "", /^203\.0\.113\.\d+$/);
      addrs.add(ip!);
      const managers = (svc.metadata?.managedFields ?? []).map(
        (m) => `${m.manager}/${m.operation}/${m.subresource ?? ""}`,
      );
      assert.ok(managers.includes("linkerd-harness/Apply/"), managers.join(","));
      assert.ok(managers.includes("linkerd-harness/Apply/status"), managers.join(","));
    }
    assert.equal(addrs.size, 2, "distinct gateway addresses per cluster");
  });

  it("seeds the remote-access ServiceAccount, RBAC and a working token", async () => {
    const api = core(east);
    await api.readNamespacedServiceAccount({ name: REMOTE_ACCESS_SA, namespace: MULTICLUSTER_NAMESPACE });
    const sec = await api.readNamespacedSecret({
      name: `${REMOTE_ACCESS_SA}-token`,
      namespace: MULTICLUSTER_NAMESPACE,
    });
    assert.equal(sec.type, "kubernetes.io/service-account-token");
    assert.equal(sec.metadata?.annotations?.["kubernetes.io/service-account.name"], REMOTE_ACCESS_SA);
    const token = Buffer.from(sec.data!.token!, "base64").toString();
    // What `linkerd mc link-gen` does with it: the token can watch services and read linkerd-config, nothing more.
    const remote = core(withToken(east, token));
    assert.equal(await httpCode(remote.listServiceForAllNamespaces()), 200);
    assert.equal(await httpCode(remote.readNamespacedConfigMap({ name: "linkerd-config", namespace: "linkerd" })), 200);
    assert.equal(
      await httpCode(remote.readNamespacedConfigMap({ name: "linkerd-identity-trust-roots", namespace: "linkerd" })),
      403,
    );
    assert.equal(await httpCode(remote.listNamespacedSecret({ namespace: MULTICLUSTER_NAMESPACE })), 403);
    const { stdout } = await run(KUBECTL, [
      "--kubeconfig",
      env.kubeconfigPath,
      "--context",
      "east",
      "get",
      "clusterrole",
      REMOTE_ACCESS_SA,
      "-o",
      "json",
    ]);
    const cr = JSON.parse(stdout) as { rules: unknown[] };
    // crosslink renders the same rules for its per-source accounts as the chart does for the default one.
    assert.deepEqual(cr.rules, REMOTE_ACCESS_RULES);
    await run(KUBECTL, [
      "--kubeconfig",
      env.kubeconfigPath,
      "--context",
      "east",
      "get",
      "clusterrolebinding",
      REMOTE_ACCESS_SA,
    ]);
  });

  it("seeds the sample Services", async () => {
    const api = core(west);
    const web = await api.readNamespacedService({ name: "web-svc", namespace: "emojivoto" });
    assert.equal(web.spec?.ports?.[0]?.port, 80);
    assert.equal(web.spec?.ports?.[0]?.targetPort, 8080);
    for (const n of ["emoji-svc", "voting-svc"]) await api.readNamespacedService({ name: n, namespace: "emojivoto" });
    const podinfo = await api.readNamespacedService({ name: "podinfo", namespace: "test" });
    assert.equal(podinfo.spec?.ports?.[0]?.port, 9898);
    await api.readNamespacedService({ name: "frontend", namespace: "test" });
  });

  it("keeps clusters independent (objects, CAs)", async () => {
    await core(east).createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "only-in-east" }, data: { a: "1" } },
    });
    assert.equal(
      await httpCode(core(east).readNamespacedConfigMap({ name: "only-in-east", namespace: "default" })),
      200,
    );
    assert.equal(
      await httpCode(core(west).readNamespacedConfigMap({ name: "only-in-east", namespace: "default" })),
      404,
    );
    const caE = east.getCurrentCluster()!.caData;
    const caW = west.getCurrentCluster()!.caData;
    assert.ok(caE && caW && caE !== caW, "different cluster CAs");
    // west's CA does not validate east's serving certificate.
    const mixed = new KubeConfig();
    mixed.loadFromOptions({
      clusters: [{ ...east.getCurrentCluster()!, caData: caW }],
      users: [east.getCurrentUser()!],
      contexts: [{ name: "mixed", cluster: east.getCurrentCluster()!.name, user: east.getCurrentUser()!.name }],
      currentContext: "mixed",
    });
    await assert.rejects(core(mixed).listNamespace());
  });

  it("completes a namespace deletion (namespace controller)", async () => {
    const api = core(west);
    await api.createNamespace({ body: { metadata: { name: "doomed" } } });
    await api.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "x" } } });
    await api.createNamespacedService({
      namespace: "doomed",
      body: { metadata: { name: "svc" }, spec: { ports: [{ port: 80 }] } },
    });
    await api.deleteNamespace({ name: "doomed" });
    await pollUntil(
      "namespace doomed gone",
      async () => (await httpCode(api.readNamespace({ name: "doomed" }))) === 404,
      30_000,
      200,
    );
  });
});
