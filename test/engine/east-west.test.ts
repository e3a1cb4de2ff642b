/**
 * The east-west example against two real API servers: what apply creates,
 * field by field; idempotence (zero writes); the credentials work and are
 * least-privilege; un-export drops only crosslink's label; unlink removes the
 * link's objects and leftover mirrors and nothing else; no secret in output.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { clientForContext, type ClusterAccess } from "../../src/kube/access.js";
import { Kubeconfig } from "../../src/kube/kubeconfig.js";
import { defaultDiscoveryDir, diskDiscoveryStore } from "../../src/kube/discovery-cache.js";
import type { KubeObject } from "../../src/kube/object.js";
import type { HttpClusterClient } from "../../src/kube/http-client.js";
import { ROOT, access, applyOnce, exampleTopology } from "./support.js";

const run = promisify(execFile);
let clusters: StartedClusters;
let acc: ClusterAccess;
let east: HttpClusterClient;
let west: HttpClusterClient;
let topoDir: string;
/** The CLI's cache root (XDG_CACHE_HOME), shared with the in-process clients' discovery store. */
let cacheHome: string;

before(async () => {
  clusters = await startClusters(["east", "west"], { log: () => {} });
  const topology = await exampleTopology("east-west", clusters.trustAnchorPem);
  acc = access(topology, clusters.kubeconfigPath);
  east = acc.clients.get("east")!;
  west = acc.clients.get("west")!;
  topoDir = await mkdtemp(path.join(tmpdir(), "xl-ew-"));
  cacheHome = await mkdtemp(path.join(tmpdir(), "xl-ew-cache-"));
  const store = diskDiscoveryStore(defaultDiscoveryDir({ XDG_CACHE_HOME: cacheHome }));
  for (const c of acc.clients.values()) c.discoveryStore = store;
  await cp(path.join(ROOT, "examples/east-west"), topoDir, { recursive: true });
  await writeFile(path.join(topoDir, "anchors/root.crt"), clusters.trustAnchorPem);
});

after(async () => {
  acc?.close();
  await clusters?.stop();
});

const get = (c: HttpClusterClient, apiVersion: string, kind: string, name: string, namespace?: string) =>
  c.get({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(
      process.execPath,
      [path.join(ROOT, "bin/crosslink.js"), ...args, "--kubeconfig", clusters.kubeconfigPath],
      { cwd: topoDir, env: { ...process.env, XDG_CACHE_HOME: cacheHome } },
    );
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

test("diff before apply shows pending changes (exit 2)", async () => {
  const r = await cli("diff");
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /\+ Link linkerd-multicluster\/east/);
  assert.match(r.out, /credentials west→east/);
});

test("apply creates the objects link-gen, allow and the controller chart describe", async () => {
  const r = await cli("apply", "--yes");
  assert.equal(r.code, 0, r.out);

  const link = await get(west, "multicluster.linkerd.io/v1alpha3", "Link", "east", "linkerd-multicluster");
  assert.ok(link, "Link east exists in west");
  const spec = link.spec as Record<string, unknown>;
  assert.equal(spec.targetClusterName, "east");
  assert.equal(spec.targetClusterDomain, "cluster.local");
  assert.equal(spec.targetClusterLinkerdNamespace, "linkerd");
  assert.equal(spec.clusterCredentialsSecret, "cluster-credentials-east");
  const gw = await get(east, "v1", "Service", "linkerd-gateway", "linkerd-multicluster");
  const ingress = (gw!.status as { loadBalancer: { ingress: { ip: string }[] } }).loadBalancer.ingress
    .map((i) => i.ip)
    .join(",");
  assert.equal(spec.gatewayAddress, ingress);
  assert.equal(spec.gatewayPort, "4143");
  assert.equal(spec.gatewayIdentity, gw!.metadata.annotations!["mirror.linkerd.io/gateway-identity"]);
  assert.deepEqual(spec.probeSpec, {
    path: "/ready",
    port: "4191",
    period: "3s",
    failureThreshold: "3",
    timeout: "30s",
  });
  assert.deepEqual(spec.selector, { matchLabels: { "mirror.linkerd.io/exported": "true" } });
  assert.deepEqual(spec.remoteDiscoverySelector, { matchLabels: { "mirror.linkerd.io/exported": "remote-discovery" } });
  assert.deepEqual(spec.federatedServiceSelector, { matchLabels: { "mirror.linkerd.io/federated": "member" } });

  for (const ns of ["linkerd-multicluster", "linkerd"]) {
    const s = await get(west, "v1", "Secret", "cluster-credentials-east", ns);
    assert.ok(s, `credentials in ${ns}`);
    assert.equal(s.type, "mirror.linkerd.io/remote-kubeconfig");
    assert.ok((s.data as Record<string, string>).kubeconfig);
  }
  const ctl = await get(west, "v1", "Secret", "cluster-credentials-east", "linkerd");
  assert.equal(ctl!.metadata.labels!["multicluster.linkerd.io/cluster-name"], "east");
  assert.equal(ctl!.metadata.annotations!["multicluster.linkerd.io/trust-domain"], "cluster.local");
  assert.equal(ctl!.metadata.annotations!["multicluster.linkerd.io/cluster-domain"], "cluster.local");

  const dep = await get(west, "apps/v1", "Deployment", "controller-east", "linkerd-multicluster");
  const pod = (
    dep!.spec as { template: { spec: { serviceAccountName: string; containers: { args: string[]; image: string }[] } } }
  ).template.spec;
  assert.equal(pod.serviceAccountName, "controller-east");
  assert.deepEqual(pod.containers[0]!.args.slice(-2), ["-probe-service=probe-east", "east"]);
  assert.match(pod.containers[0]!.image, /^cr\.l5d\.io\/linkerd\/controller:/);
  assert.equal(dep!.metadata.labels!.component, "controller");
  assert.equal(dep!.metadata.labels!["mirror.linkerd.io/cluster-name"], "east");
  assert.equal(dep!.metadata.labels!["linkerd.io/extension"], "multicluster");
  const depSpec = dep!.spec as {
    revisionHistoryLimit: number;
    template: {
      metadata: { labels: Record<string, string> };
      spec: Record<string, unknown> & {
        containers: { securityContext: Record<string, unknown>; volumeMounts: { name: string; mountPath: string }[] }[];
        volumes: { name: string; projected?: unknown }[];
      };
    };
  };
  assert.equal(depSpec.revisionHistoryLimit, 10);
  assert.equal(depSpec.template.metadata.labels["linkerd.io/extension"], "multicluster");
  assert.equal(depSpec.template.spec.automountServiceAccountToken, false);
  assert.deepEqual(depSpec.template.spec.containers[0]!.securityContext.seccompProfile, { type: "RuntimeDefault" });
  assert.deepEqual(
    depSpec.template.spec.containers[0]!.volumeMounts.map((m) => [m.name, m.mountPath]),
    [["kube-api-access", "/var/run/secrets/kubernetes.io/serviceaccount"]],
  );
  assert.ok(
    depSpec.template.spec.volumes.find((v) => v.name === "kube-api-access")?.projected,
    "projected token volume",
  );
  // The controller binds to the chart's shared ClusterRole, which the harness seeded as `install` does; crosslink leaves it alone.
  const binding = await get(
    west,
    "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding",
    "linkerd-multicluster-controller-access-local-resources-east",
  );
  assert.deepEqual(binding!.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: "linkerd-multicluster-controller-access-local-resources",
  });
  const shared = await get(
    west,
    "rbac.authorization.k8s.io/v1",
    "ClusterRole",
    "linkerd-multicluster-controller-access-local-resources",
  );
  assert.equal(
    shared!.metadata.labels!["app.kubernetes.io/managed-by"],
    undefined,
    "the chart's shared role is not taken over",
  );
  assert.ok(
    !shared!.metadata.managedFields!.some((m) => m.manager === "crosslink"),
    "crosslink wrote no field of the chart's shared role",
  );
  const role = await get(
    west,
    "rbac.authorization.k8s.io/v1",
    "Role",
    "controller-read-remote-creds-east",
    "linkerd-multicluster",
  );
  assert.deepEqual((role!.rules as { resourceNames?: string[] }[])[0]!.resourceNames, ["cluster-credentials-east"]);
  const probe = await get(west, "v1", "Service", "probe-east", "linkerd-multicluster");
  assert.equal(probe!.metadata.labels!["mirror.linkerd.io/mirrored-gateway"], "true");
  assert.equal((probe!.spec as { ports: { name: string; port: number }[] }).ports[0]!.port, 4191);

  const sa = await get(
    east,
    "v1",
    "ServiceAccount",
    "linkerd-service-mirror-remote-access-west",
    "linkerd-multicluster",
  );
  assert.ok(sa, "per-source remote-access ServiceAccount in east");
  const crb = await get(
    east,
    "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding",
    "linkerd-service-mirror-remote-access-west",
  );
  assert.equal((crb!.roleRef as { name: string }).name, "linkerd-service-mirror-remote-access-west");

  const web = await get(east, "v1", "Service", "web-svc", "emojivoto");
  assert.equal(web!.metadata.labels!["mirror.linkerd.io/exported"], "true");
});

test("a second apply writes nothing and diff exits 0", async () => {
  const topology = await exampleTopology("east-west", clusters.trustAnchorPem);
  const before = new Map([...acc.clients].map(([name, c]) => [name, c.counters.requests]));
  const second = await applyOnce(topology, acc);
  assert.equal(second.writes, 0, JSON.stringify(second.plan.clusters.map((c) => c.actions)));
  // Discovery comes from the disk cache the CLI's apply above wrote; one LIST per kind (Services included), one LIST
  // of the Linkerd namespace's ConfigMaps (linkerd-config and the trust roots), the issuer by name; in west (the
  // link's source) ClusterRoles are one LIST of them all, which holds the chart's shared controller role; no
  // credential LIST, since crosslink owns both credential Secrets (issue 14: at most 12).
  // east: ConfigMaps, issuer, Secrets, Services, Links, ServiceAccounts, ClusterRoles, ClusterRoleBindings.
  // west: ConfigMaps, issuer, ClusterRoles (all), Secrets, Services, Links, ServiceAccounts, Roles, RoleBindings,
  // ClusterRoleBindings, Deployments.
  const expected: Record<string, number> = { east: 8, west: 11 };
  for (const [name, c] of acc.clients) {
    const requests = c.counters.requests - before.get(name)!;
    console.log(`no-op requests ${name}: ${requests} ${JSON.stringify(c.counters.byVerb)}`);
    assert.equal(
      requests,
      expected[name],
      `${name}: ${requests} requests for a no-op (${JSON.stringify(c.counters.byVerb)})`,
    );
  }
  assert.ok(second.plan.clusters.every((c) => c.actions.length === 0));
  const r = await cli("diff");
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Plan: no changes\./);
});

test("render writes per-cluster manifests the API server accepts, without secret values", async () => {
  const out = path.join(topoDir, "rendered");
  const r = await cli("render", "--out", out);
  assert.equal(r.code, 0, r.out);
  const west = await readFile(path.join(out, "west.yaml"), "utf8");
  assert.match(west, /kind: Link/);
  assert.match(west, /kind: Deployment/);
  assert.doesNotMatch(west, /kubeconfig:/, "secret data is left out by default");
  for (const name of ["east", "west"]) {
    const dry = await run("kubectl", [
      "--kubeconfig",
      clusters.kubeconfigPath,
      "--context",
      name,
      "apply",
      "--server-side",
      "--dry-run=server",
      "--field-manager=crosslink",
      "-f",
      path.join(out, `${name}.yaml`),
    ]);
    assert.match(dry.stdout, /serverside-applied \(server dry run\)/);
  }
});

test("the generated credentials reach east: Services listable, Secrets refused", async () => {
  const s = await get(west, "v1", "Secret", "cluster-credentials-east", "linkerd-multicluster");
  const text = Buffer.from((s!.data as Record<string, string>).kubeconfig!, "base64").toString("utf8");
  const kc = new Kubeconfig();
  kc.loadFromString(text);
  const client = clientForContext(kc, kc.getCurrentContext(), "east-as-west", {
    attempts: 1,
    baseDelayMs: 10,
    timeoutMs: 5000,
  })!;
  try {
    const services = await client.list("v1", "Service", { namespace: "emojivoto" });
    assert.ok(services.some((x) => x.metadata.name === "web-svc"));
    await assert.rejects(client.list("v1", "Secret", { namespace: "linkerd-multicluster" }), /403/);
  } finally {
    client.close();
  }
});

test("no token or key appears in diff, apply or json output", async () => {
  const tokens: string[] = [];
  for (const ns of ["linkerd-multicluster", "linkerd"]) {
    const s = await get(west, "v1", "Secret", "cluster-credentials-east", ns);
    const text = Buffer.from((s!.data as Record<string, string>).kubeconfig!, "base64").toString("utf8");
    tokens.push(/token: (\S+)/.exec(text)![1]!, (s!.data as Record<string, string>).kubeconfig!);
  }
  // Force a rotation so the plan and apply handle fresh secret material.
  const short = await exampleTopology("east-west", clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "links", 0, "credentials"], { ttl: "1000000h" }),
  );
  const rotated = await applyOnce(short, acc);
  const outputs = [
    JSON.stringify(rotated.plan),
    (await cli("diff")).out,
    (await cli("diff", "-o", "json")).out,
    (await cli("diff", "-o", "markdown")).out,
    (await cli("apply", "--yes")).out,
    (await cli("apply", "--yes", "--dry-run=server", "-o", "json")).out,
  ];
  for (const s of ["linkerd-multicluster", "linkerd"]) {
    const sec = await get(west, "v1", "Secret", "cluster-credentials-east", s);
    const text = Buffer.from((sec!.data as Record<string, string>).kubeconfig!, "base64").toString("utf8");
    tokens.push(/token: (\S+)/.exec(text)![1]!);
  }
  const key = clusters.trustAnchor.keyPem.split("\n")[1]!;
  for (const out of outputs.slice(1)) {
    for (const t of tokens) assert.ok(!out.includes(t), "a token leaked into output");
    assert.ok(!out.includes(key), "a key leaked into output");
  }
});

test("removing the export drops only crosslink's label", async () => {
  const before = await get(east, "v1", "Service", "web-svc", "emojivoto");
  const otherLabels = Object.keys(before!.metadata.labels!).filter((k) => k !== "mirror.linkerd.io/exported");
  const topology = await exampleTopology("east-west", clusters.trustAnchorPem, (d) => d.deleteIn(["spec", "exports"]));
  const r = await applyOnce(topology, acc);
  const eastActions = r.plan.clusters.find((c) => c.cluster === "east")!.actions;
  assert.deepEqual(
    eastActions.map((a) => a.type),
    ["update"],
  );
  assert.equal(r.writes, 1);
  const afterSvc = await get(east, "v1", "Service", "web-svc", "emojivoto");
  assert.equal(afterSvc!.metadata.labels?.["mirror.linkerd.io/exported"], undefined);
  assert.deepEqual(Object.keys(afterSvc!.metadata.labels ?? {}).sort(), otherLabels.sort());
  assert.deepEqual(afterSvc!.spec, before!.spec);
});

test("unlinking deletes the link's objects and leftover mirrors, and nothing crosslink does not own", async () => {
  const mk = (name: string, labels: Record<string, string>): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "emojivoto", labels },
    spec: { ports: [{ port: 80 }] },
  });
  // What the service mirror would have created for east, and objects of the same kinds that are not crosslink's.
  await west.apply(
    mk("web-svc-east", { "mirror.linkerd.io/mirrored-service": "true", "mirror.linkerd.io/cluster-name": "east" }),
    { fieldManager: "linkerd-service-mirror" },
  );
  await west.apply(
    mk("web-svc-elsewhere", {
      "mirror.linkerd.io/mirrored-service": "true",
      "mirror.linkerd.io/cluster-name": "elsewhere",
    }),
    { fieldManager: "someone" },
  );
  // Federated mirrors (no cluster label): only one whose every member came through east, with no local member, is left behind by the unlink.
  const federated = (name: string, annotations: Record<string, string>): KubeObject => {
    const svc = mk(name, { "mirror.linkerd.io/mirrored-service": "true" });
    svc.metadata.annotations = annotations;
    return svc;
  };
  await west.apply(
    federated("voting-svc-federated", { "multicluster.linkerd.io/remote-discovery": "voting-svc@east" }),
    { fieldManager: "linkerd-service-mirror" },
  );
  await west.apply(
    federated("emoji-svc-federated", {
      "multicluster.linkerd.io/remote-discovery": "emoji-svc@east,emoji-svc@elsewhere",
    }),
    { fieldManager: "linkerd-service-mirror" },
  );
  await west.apply(
    federated("web-svc-federated", {
      "multicluster.linkerd.io/remote-discovery": "web-svc@east",
      "multicluster.linkerd.io/local-discovery": "web-svc",
    }),
    { fieldManager: "linkerd-service-mirror" },
  );
  await west.apply(
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "cluster-credentials-other", namespace: "linkerd-multicluster" },
      type: "Opaque",
    },
    { fieldManager: "someone" },
  );
  await west.apply(
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: "not-ours",
        namespace: "linkerd-multicluster",
        labels: { "app.kubernetes.io/managed-by": "helm" },
      },
    },
    { fieldManager: "helm" },
  );

  const topology = await exampleTopology("east-west", clusters.trustAnchorPem, (d) => {
    d.deleteIn(["spec", "links"]);
    d.deleteIn(["spec", "exports"]);
  });
  // Dropping the mesh's only link and only export is an ordinary change for the prune guard (one of
  // one is under its minimum of two; docs/decisions.md 9), even though it empties west: no flag.
  const r = await applyOnce(topology, acc);
  assert.ok(
    r.plan.clusters.every((c) => !c.blocked && c.findings.every((f) => f.severity !== "error")),
    JSON.stringify(r.plan.clusters.map((c) => c.findings)),
  );
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes),
  );
  const ns = "linkerd-multicluster";
  assert.equal(await get(west, "multicluster.linkerd.io/v1alpha3", "Link", "east", ns), undefined);
  assert.equal(await get(west, "v1", "Secret", "cluster-credentials-east", ns), undefined);
  assert.equal(await get(west, "v1", "Secret", "cluster-credentials-east", "linkerd"), undefined);
  assert.equal(await get(west, "apps/v1", "Deployment", "controller-east", ns), undefined);
  assert.equal(await get(west, "v1", "Service", "web-svc-east", "emojivoto"), undefined, "leftover mirror removed");
  assert.equal(await get(east, "v1", "ServiceAccount", "linkerd-service-mirror-remote-access-west", ns), undefined);
  assert.ok(await get(west, "v1", "Service", "web-svc-elsewhere", "emojivoto"), "mirror of an unmanaged link survives");
  assert.equal(
    await get(west, "v1", "Service", "voting-svc-federated", "emojivoto"),
    undefined,
    "federated mirror of east only removed",
  );
  assert.ok(
    await get(west, "v1", "Service", "emoji-svc-federated", "emojivoto"),
    "federated mirror with a member of an unmanaged link survives",
  );
  assert.ok(
    await get(west, "v1", "Service", "web-svc-federated", "emojivoto"),
    "federated mirror with a local member survives",
  );
  assert.ok(await get(west, "v1", "Secret", "cluster-credentials-other", ns), "unowned Secret survives");
  assert.ok(await get(west, "v1", "ServiceAccount", "not-ours", ns), "unowned ServiceAccount survives");
  assert.ok(
    await get(east, "v1", "ServiceAccount", "linkerd-service-mirror-remote-access-default", ns),
    "Linkerd's own remote-access SA survives",
  );
  assert.ok(await get(east, "v1", "Service", "linkerd-gateway", ns), "gateway survives");
  assert.equal(
    await get(
      west,
      "rbac.authorization.k8s.io/v1",
      "ClusterRoleBinding",
      "linkerd-multicluster-controller-access-local-resources-east",
    ),
    undefined,
  );
  assert.ok(
    await get(
      west,
      "rbac.authorization.k8s.io/v1",
      "ClusterRole",
      "linkerd-multicluster-controller-access-local-resources",
    ),
    "the chart's shared controller role survives",
  );
});
