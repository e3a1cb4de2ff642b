/**
 * The Helm chart without a cluster: `helm lint` and `helm template` of charts/crosslink for the
 * default values (plus the one required value) and for every option on, with assertions on the
 * objects; the ClusterRole checked against the permissions derived from the code (test/chart/rbac.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../src/kube/object.js";
import { CHART_DIR, kinds, one, renderChart, requireHelm, runHelm, valuesFile } from "./helm.js";
import { expand, grants, requiredPermissions, type PolicyRule } from "./rbac.js";
import type { PodSpec, Volume } from "./support.js";

const { helm, skip } = await requireHelm();
if (skip) console.log(`# SKIP chart tests: ${skip}`);

const podSpec = (objects: KubeObject[]) =>
  (one(objects, "Deployment").spec as { template: { spec: PodSpec } }).template.spec;
const container = (objects: KubeObject[]) => podSpec(objects).containers[0]!;
/** `--flag=value` → value; `--flag` → true; absent → undefined. */
const flag = (args: string[], name: string): string | true | undefined => {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  return hit === undefined ? undefined : hit.includes("=") ? hit.slice(hit.indexOf("=") + 1) : true;
};
/** The volume mounted at the longest mount path that contains `file`. */
const volumeOf = (spec: PodSpec, file: string): Volume => {
  const m = spec.containers[0]!.volumeMounts.filter((v) => file.startsWith(v.mountPath + "/")).sort(
    (a, b) => b.mountPath.length - a.mountPath.length,
  )[0];
  assert.ok(m, `${file} is on no mounted volume`);
  return spec.volumes.find((v) => v.name === m.name)!;
};

test("helm lint --strict passes for the default and the full values", { skip }, async () => {
  for (const f of [valuesFile("default"), valuesFile("full")]) {
    const r = await runHelm(helm!, ["lint", "--strict", CHART_DIR, "-f", f]);
    assert.equal(r.code, 0, `helm lint ${f}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test(
  "default values: a two-replica, Lease-electing, non-root read-only Deployment and nothing cluster-wide",
  { skip },
  async () => {
    const objects = await renderChart(helm!, { values: [valuesFile("default")] });
    console.log(`# default values: ${objects.length} objects: ${kinds(objects).join(", ")}`);
    assert.deepEqual(kinds(objects), [
      "Deployment/crosslink",
      "NetworkPolicy/crosslink",
      "PodDisruptionBudget/crosslink",
      "Role/crosslink-lease",
      "RoleBinding/crosslink-lease",
      "Service/crosslink-metrics",
      "Service/crosslink-webhook",
      "ServiceAccount/crosslink",
    ]);
    for (const o of objects) assert.equal(o.metadata.namespace, "crosslink", `${o.kind} in the release namespace`);

    const deploy = one(objects, "Deployment");
    assert.equal((deploy.spec as { replicas: number }).replicas, 2);
    const spec = podSpec(objects);
    const c = container(objects);
    assert.equal(c.image, "crosslink/crosslink:0.1.0", "the tag defaults to the appVersion");
    assert.equal(c.args[0], "run");
    assert.equal(flag(c.args, "repo"), "https://git.example.com/platform/mesh.git");
    assert.equal(flag(c.args, "branch"), "main");
    assert.equal(flag(c.args, "webhook-listen"), "0.0.0.0:8080");
    assert.equal(flag(c.args, "metrics-listen"), "0.0.0.0:9090");
    assert.equal(flag(c.args, "leader-elect"), true);
    assert.equal(flag(c.args, "lease-name"), "crosslink");
    assert.equal(flag(c.args, "observe"), "watch", "clusters are watched by default");
    for (const off of [
      "status-detail",
      "local-cluster",
      "kubeconfig-dir",
      "webhook-secret-file",
      "trusted-keys",
      "suspend",
      "resync-interval",
    ])
      assert.equal(flag(c.args, off), undefined, `--${off} is off by default`);
    assert.equal(c.args.filter((a) => a.startsWith("--listen")).length, 0, "no shared --listen");
    const env = Object.fromEntries(c.env.map((e) => [e.name, e]));
    assert.equal(env.POD_NAMESPACE?.valueFrom?.fieldRef?.fieldPath, "metadata.namespace");
    assert.equal(env.POD_NAME?.valueFrom?.fieldRef?.fieldPath, "metadata.name");
    assert.deepEqual(
      Object.keys(env).filter((n) => n.startsWith("CROSSLINK_GIT")),
      [],
      "no git credentials unless a Secret is named",
    );

    // Non-root, read-only root, and the only writable paths are emptyDirs: the cache (XDG_CACHE_HOME) and /tmp.
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.equal(spec.securityContext.runAsUser, 65532);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
    const cacheVolume = volumeOf(spec, `${env.XDG_CACHE_HOME!.value}/crosslink/source`);
    assert.ok(cacheVolume.emptyDir, "the cache is an emptyDir");
    for (const m of c.volumeMounts.filter((v) => !v.readOnly))
      assert.ok(
        spec.volumes.find((v) => v.name === m.name)!.emptyDir,
        `${m.mountPath} is writable only as an emptyDir`,
      );
    assert.equal(spec.automountServiceAccountToken, true, "the Lease needs the ServiceAccount token");
    assert.equal(spec.serviceAccountName, "crosslink");

    // Probes and resources.
    assert.deepEqual(
      c.ports.map((p) => [p.name, p.containerPort]),
      [
        ["webhook", 8080],
        ["metrics", 9090],
      ],
    );
    assert.deepEqual(c.livenessProbe.httpGet, { path: "/healthz", port: "metrics" });
    assert.deepEqual(c.readinessProbe.httpGet, { path: "/readyz", port: "metrics" });
    assert.ok(c.resources.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory);

    // The Lease: only this one Lease, only the verbs lease.ts uses.
    assert.deepEqual(one(objects, "Role").rules, [
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: ["crosslink"],
        verbs: ["create", "get", "patch", "update"],
      },
    ]);
    const binding = one(objects, "RoleBinding") as KubeObject & { subjects: unknown[]; roleRef: { name: string } };
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "crosslink", namespace: "crosslink" }]);
    assert.equal(binding.roleRef.name, "crosslink-lease");

    // Two Services, one listener each.
    const ports = (name: string) =>
      (one(objects, "Service", name).spec as { ports: { targetPort: string }[] }).ports.map((p) => p.targetPort);
    assert.deepEqual(ports("crosslink-webhook"), ["webhook"]);
    assert.deepEqual(ports("crosslink-metrics"), ["metrics"]);

    const pdb = one(objects, "PodDisruptionBudget").spec as { minAvailable: number; selector: { matchLabels: object } };
    assert.equal(pdb.minAvailable, 1);
    const selector = (deploy.spec as { selector: { matchLabels: object } }).selector.matchLabels;
    assert.deepEqual(pdb.selector.matchLabels, selector);
    const np = one(objects, "NetworkPolicy").spec as {
      podSelector: { matchLabels: object };
      policyTypes: string[];
      ingress: { ports: { port: string }[]; from?: unknown[] }[];
    };
    assert.deepEqual(np.podSelector.matchLabels, selector);
    assert.deepEqual(np.policyTypes, ["Ingress", "Egress"]);
    assert.deepEqual(
      np.ingress.map((r) => [r.ports.map((p) => p.port), r.from]),
      [
        [["webhook"], undefined],
        [["metrics"], [{ namespaceSelector: {} }]],
      ],
      "the webhook from anywhere, metrics only from inside the cluster",
    );
  },
);

test("full values: every option reaches the objects, each Secret as files", { skip }, async () => {
  const objects = await renderChart(helm!, { values: [valuesFile("full")] });
  console.log(`# full values: ${objects.length} objects: ${kinds(objects).join(", ")}`);
  assert.deepEqual(kinds(objects), [
    "ClusterRole/crosslink-local-cluster",
    "ClusterRoleBinding/crosslink-local-cluster",
    "Deployment/crosslink",
    "Ingress/crosslink-webhook",
    "NetworkPolicy/crosslink",
    "PodDisruptionBudget/crosslink",
    "Role/crosslink-lease",
    "Role/crosslink-linkerd-configmaps",
    "Role/crosslink-mirror-controller-grants",
    "RoleBinding/crosslink-lease",
    "RoleBinding/crosslink-linkerd-configmaps",
    "RoleBinding/crosslink-mirror-controller-grants",
    "Service/crosslink-metrics",
    "Service/crosslink-webhook",
    "ServiceAccount/crosslink",
    "ServiceMonitor/crosslink",
  ]);
  const spec = podSpec(objects);
  const c = container(objects);
  assert.equal(c.image, "crosslink/crosslink:0.1.0-test");
  const expectFlags: Record<string, string | true> = {
    repo: "https://git.example.com/platform/mesh.git",
    branch: "production",
    path: "mesh/multicluster.yaml",
    schedule: "*/5 * * * *",
    "max-fetch-bytes": "33554432",
    "webhook-listen": "0.0.0.0:8080",
    "metrics-listen": "0.0.0.0:9090",
    "status-detail": true,
    drift: "report",
    observe: "watch",
    "drift-interval": "5m",
    "resync-interval": "10m",
    "backoff-max": "2m",
    "shutdown-timeout": "15s",
    suspend: true,
    "allow-mass-prune": true,
    "allow-rewind": true,
    "log-level": "debug",
    "leader-elect": true,
    "lease-name": "crosslink-mesh",
    "lease-duration": "20s",
    "local-cluster": "east",
    "kubeconfig-dir": "/etc/crosslink/kubeconfigs",
    "webhook-secret-file": "/etc/crosslink/webhook/webhook-secret",
    "trusted-keys": "/etc/crosslink/trusted-keys/release.asc,/etc/crosslink/trusted-keys/ops.asc",
    "suspend-file": "/var/cache/crosslink/suspend",
  };
  for (const [name, value] of Object.entries(expectFlags)) assert.equal(flag(c.args, name), value, `--${name}`);
  assert.equal(flag(c.args, "tag"), undefined);
  assert.equal(flag(c.args, "commit"), undefined);

  // Each credential is a file on a read-only Secret volume.
  const secretOf = (file: string) => {
    const v = volumeOf(spec, file);
    return v.secret ? [v.secret.secretName] : (v.projected?.sources.map((s) => s.secret.name) ?? []);
  };
  const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  assert.deepEqual(secretOf(env.CROSSLINK_GIT_TOKEN_FILE!), ["crosslink-git"]);
  assert.deepEqual(secretOf(expectFlags["webhook-secret-file"] as string), ["crosslink-webhook"]);
  assert.deepEqual(secretOf("/etc/crosslink/trusted-keys/ops.asc"), ["crosslink-trusted-keys"]);
  assert.deepEqual(secretOf("/etc/crosslink/kubeconfigs/east"), ["crosslink-kubeconfigs", "crosslink-kubeconfigs-eu"]);
  for (const m of c.volumeMounts.filter((v) => v.mountPath.startsWith("/etc/crosslink")))
    assert.equal(m.readOnly, true, `${m.mountPath} is read-only`);
  assert.equal(env.NODE_OPTIONS, "--max-old-space-size=384");
  assert.deepEqual(spec.imagePullSecrets, [{ name: "registry" }]);

  // The Ingress reaches only the webhook Service; the ServiceMonitor only the metrics Service.
  const ingress = one(objects, "Ingress").spec as {
    ingressClassName: string;
    rules: {
      host: string;
      http: { paths: { path: string; backend: { service: { name: string; port: { number: number } } } }[] };
    }[];
  };
  assert.equal(ingress.ingressClassName, "nginx");
  assert.deepEqual(
    ingress.rules.flatMap((r) =>
      r.http.paths.map((p) => [r.host, p.path, p.backend.service.name, p.backend.service.port.number]),
    ),
    [["crosslink.example.com", "/hooks/git", "crosslink-webhook", 80]],
  );
  const sm = one(objects, "ServiceMonitor") as KubeObject & {
    spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
  };
  assert.equal(sm.metadata.labels?.release, "prometheus");
  assert.deepEqual(
    sm.spec.endpoints.map((e) => [e.port, e.path]),
    [["metrics", "/metrics"]],
  );
  const selects = (svc: KubeObject) =>
    Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v);
  assert.ok(selects(one(objects, "Service", "crosslink-metrics")));
  assert.ok(!selects(one(objects, "Service", "crosslink-webhook")), "the ServiceMonitor does not scrape the webhook");

  const np = one(objects, "NetworkPolicy").spec as { ingress: { from: unknown[] }[]; egress: unknown[] };
  assert.deepEqual(np.ingress[0]!.from, [
    { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
  ]);
  assert.equal(np.egress.length, 3, "DNS, the egress ports, the extra rule");

  const grantsRole = one(objects, "Role", "crosslink-mirror-controller-grants");
  assert.equal(grantsRole.metadata.namespace, "linkerd-multicluster");
  for (const kind of ["Role", "RoleBinding"])
    assert.equal(one(objects, kind, "crosslink-linkerd-configmaps").metadata.namespace, "linkerd");
  // The Linkerd control-plane namespace is a value.
  const elsewhere = await renderChart(helm!, {
    values: [valuesFile("full")],
    set: ["localCluster.linkerdNamespace=linkerd-control-plane"],
  });
  for (const kind of ["Role", "RoleBinding"])
    assert.equal(one(elsewhere, kind, "crosslink-linkerd-configmaps").metadata.namespace, "linkerd-control-plane");
  const configBinding = one(objects, "RoleBinding", "crosslink-linkerd-configmaps") as KubeObject & {
    subjects: unknown[];
    roleRef: { kind: string; name: string };
  };
  assert.deepEqual(configBinding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "Role",
    name: "crosslink-linkerd-configmaps",
  });
  assert.deepEqual(configBinding.subjects, [{ kind: "ServiceAccount", name: "crosslink", namespace: "crosslink" }]);
});

test("the local-cluster RBAC is exactly what the code reads, writes and grants", { skip }, async () => {
  const objects = await renderChart(helm!, { values: [valuesFile("full")] });
  const clusterRole = expand(one(objects, "ClusterRole").rules as PolicyRule[]);
  const mirrorRole = expand(one(objects, "Role", "crosslink-mirror-controller-grants").rules as PolicyRule[]);
  const linkerdRole = expand(one(objects, "Role", "crosslink-linkerd-configmaps").rules as PolicyRule[]);
  const need = await requiredPermissions();
  const missing = [...need.clusterWide].filter((p) => !grants(clusterRole, p));
  assert.deepEqual(missing, [], "cluster-wide permissions the code needs and the ClusterRole lacks");
  // The ConfigMaps LIST is granted in the Linkerd namespace only, and nothing else is.
  assert.deepEqual([...linkerdRole].sort(), [...need.linkerdNamespace].sort(), "the Linkerd-namespace Role");
  assert.ok(
    [...need.linkerdNamespace].every((p) => !grants(clusterRole, p)),
    "no LIST or WATCH of ConfigMaps cluster-wide",
  );
  const held = new Set([...clusterRole, ...mirrorRole]);
  const missingNs = [...need.multiclusterNamespace].filter((p) => !grants(held, p));
  assert.deepEqual(missingNs, [], "permissions the mirror controller's Role grants and crosslink lacks there");
  const extra = [...clusterRole].filter((p) => !need.clusterWide.has(p));
  assert.deepEqual(extra, [], "ClusterRole permissions no code path needs");
  const verbOf = (p: string) => p.split("|").slice(0, 3).join("|");
  const nsNeeded = new Set([...need.multiclusterNamespace].map(verbOf));
  const extraNs = [...mirrorRole].filter((p) => !nsNeeded.has(verbOf(p)) || grants(clusterRole, p));
  assert.deepEqual(extraNs, [], "namespaced permissions not needed there, or already held cluster-wide");
  for (const o of objects.filter((x) => x.kind.endsWith("Role")))
    for (const r of (o.rules as PolicyRule[]) ?? [])
      assert.ok(
        ![...(r.verbs ?? []), ...(r.resources ?? []), ...(r.apiGroups ?? [])].includes("*"),
        `${o.metadata.name}: no wildcard`,
      );
  assert.ok(
    !held.has("rbac.authorization.k8s.io|clusterroles|escalate|*") &&
      !held.has("rbac.authorization.k8s.io|clusterroles|bind|*"),
  );
  console.log(
    `# local-cluster ClusterRole: ${clusterRole.size} permissions; mirror-controller Role: ${mirrorRole.size}; Linkerd-namespace Role: ${linkerdRole.size}`,
  );
});

test(
  "choices and refusals: commit pins, no token without a Lease, a missing repo or a bad value is refused",
  { skip },
  async () => {
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const pinned = container(
      await renderChart(helm!, { values: [valuesFile("default")], set: [`source.commit=${commit}`, "source.tag=v1"] }),
    );
    assert.equal(flag(pinned.args, "commit"), commit);
    assert.equal(flag(pinned.args, "branch"), undefined);
    assert.equal(flag(pinned.args, "tag"), undefined);
    const poll = container(
      await renderChart(helm!, { values: [valuesFile("default")], set: ["reconcile.observe=poll"] }),
    );
    assert.equal(flag(poll.args, "observe"), "poll");

    const noLease = await renderChart(helm!, {
      values: [valuesFile("default")],
      set: ["leaderElection.enabled=false"],
    });
    assert.equal(podSpec(noLease).automountServiceAccountToken, false, "no API use in its own cluster: no token");
    assert.equal(noLease.filter((o) => o.kind === "Role" || o.kind === "RoleBinding").length, 0);
    assert.equal(flag(container(noLease).args, "leader-elect"), undefined);

    const refused = async (args: string[], re: RegExp) => {
      const r = await runHelm(helm!, ["template", "crosslink", CHART_DIR, ...args]);
      assert.notEqual(r.code, 0, `helm template ${args.join(" ")} must fail`);
      assert.match(r.stderr, re);
    };
    await refused([], /source\.repo is required/);
    await refused(["-f", valuesFile("default"), "--set", "reconcile.drift=fix"], /drift/);
    await refused(["-f", valuesFile("default"), "--set", "reconcile.resyncInterval=hourly"], /resyncInterval/);
    await refused(["-f", valuesFile("default"), "--set", "reconcile.observe=sometimes"], /observe/);
    await refused(
      ["-f", valuesFile("default"), "--set", "source.repo=https://user:pw@git.example.com/mesh.git"],
      /repo/,
    );
    await refused(["-f", valuesFile("default"), "--set", "source.commit=main"], /commit/);
    await refused(["-f", valuesFile("default"), "--set", "unknownValue=1"], /unknownValue/);
    await refused(
      ["-f", valuesFile("default"), "--set", "source.trustedKeys.secretName=keys"],
      /source\.trustedKeys\.keys/,
    );
  },
);

test(
  "sharding: --shards instead of --leader-elect, and a namespaced Role on Leases with only the verbs shards.ts uses",
  { skip },
  async () => {
    const objects = await renderChart(helm!, {
      values: [valuesFile("default")],
      set: ["sharding.enabled=true", "replicaCount=3"],
    });
    const c = container(objects);
    assert.equal(flag(c.args, "shards"), true);
    assert.equal(flag(c.args, "leader-elect"), undefined, "the single Lease election is off");
    assert.equal(flag(c.args, "lease-name"), "crosslink");
    assert.equal(podSpec(objects).automountServiceAccountToken, true, "the Leases need the ServiceAccount token");
    const roles = objects.filter((o) => o.kind === "Role" || o.kind === "ClusterRole").map((o) => o.metadata.name);
    assert.deepEqual(roles, ["crosslink-shards"], "no election Role, nothing cluster-wide");
    const role = one(objects, "Role", "crosslink-shards");
    assert.equal(role.metadata.namespace, "crosslink");
    assert.deepEqual(
      [...expand(role.rules as PolicyRule[])].sort(),
      ["create", "get", "list", "patch", "update"].map((v) => `coordination.k8s.io|leases|${v}|*`),
    );
    const binding = one(objects, "RoleBinding", "crosslink-shards") as KubeObject & { roleRef: { name: string } };
    assert.equal(binding.roleRef.name, "crosslink-shards");
  },
);
