/**
 * The daemon's two listeners and what `/status` shows: the webhook listener
 * serves only `POST /hooks/git` and `/healthz`; the metrics listener serves
 * `/metrics`, `/status`, `/healthz`, `/readyz`; without `--status-detail`
 * `/status` names no API server, source URL or error text. Also the flags'
 * defaults in and out of a cluster, and merged kubeconfig files.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir, cp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseRunConfig, type DaemonConfig } from "../../src/daemon/config.js";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import { HIDDEN_SOURCE, type DaemonStatus } from "../../src/daemon/status.js";
import { KubeconfigFiles, mergeKubeconfigs } from "../../src/kube/kubeconfig-files.js";
import { ROOT, waitFor } from "./support.js";

let tmp: string;
const UNREACHABLE = "https://127.0.0.1:1";

/** A kubeconfig whose contexts all point at a closed port; every user is called `admin`. */
function kubeconfig(contexts: string[], token: string, server = UNREACHABLE): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: contexts
      .slice(0, 1)
      .map(() => ({ name: "kubernetes", cluster: { server, "insecure-skip-tls-verify": true } })),
    users: [{ name: "admin", user: { token } }],
    contexts: contexts.map((c) => ({ name: c, context: { cluster: "kubernetes", user: "admin" } })),
    "current-context": contexts[0],
  });
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-listeners-"));
  await cp(path.join(ROOT, "examples", "east-west"), path.join(tmp, "repo"), { recursive: true });
  await writeFile(path.join(tmp, "kubeconfig"), kubeconfig(["east", "west"], "t0ken-never-shown"));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function started(extra: string[]): Promise<Daemon> {
  const cfg = parseRunConfig(
    [
      "--repo",
      path.join(tmp, "repo"),
      "--webhook-listen",
      "127.0.0.1:0",
      "--metrics-listen",
      "127.0.0.1:0",
      "--kubeconfig",
      path.join(tmp, "kubeconfig"),
      "--cache-dir",
      path.join(tmp, "cache"),
      "--shutdown-timeout",
      "5s",
      ...extra,
    ],
    {},
  ) as DaemonConfig;
  const d = await createDaemon(cfg, { log: createLogger("silent") });
  await d.start();
  return d;
}

const get = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
};

test("webhook and metrics listeners serve disjoint endpoints; /status without --status-detail names no server and quotes no error", async () => {
  const d = await started([]);
  try {
    assert.notEqual(d.url(), d.webhookUrl());
    const status = await waitFor(
      "the first reconcile to fail on the unreachable clusters",
      async () => {
        const s = JSON.parse((await get(`${d.url()}/status`)).text) as DaemonStatus;
        return s.clusters.length === 2 && s.clusters.every((c) => c.state !== "ok" && c.state !== "pending")
          ? s
          : undefined;
      },
      30_000,
    );
    const text = JSON.stringify(status);
    assert.equal(status.detail, false);
    assert.equal(status.source, HIDDEN_SOURCE);
    assert.doesNotMatch(text, /127\.0\.0\.1:1\b|unreachable:|ECONNREFUSED|t0ken/);
    assert.ok(status.clusters.every((c) => c.error === undefined && ["unreachable", "backoff"].includes(c.state)));
    assert.ok(status.lastErrors.length > 0 && status.lastErrors.every((e) => e.message === ""));
    assert.ok(status.revision.lastGood, "the revision in force is shown");

    // The metrics listener: no webhook.
    assert.equal((await get(`${d.url()}/hooks/git`, { method: "POST", body: "{}" })).status, 404);
    assert.equal((await get(`${d.url()}/healthz`)).status, 200);
    assert.equal((await get(`${d.url()}/readyz`)).status, 200);
    assert.match((await get(`${d.url()}/metrics`)).text, /crosslink_reconciles_total/);
    // The webhook listener: only the webhook and /healthz.
    for (const p of ["/status", "/metrics", "/readyz"]) assert.equal((await get(`${d.webhookUrl()}${p}`)).status, 404);
    assert.equal((await get(`${d.webhookUrl()}/healthz`)).status, 200);
    assert.equal((await get(`${d.webhookUrl()}/hooks/git`, { method: "POST", body: "{}" })).status, 503);
  } finally {
    await d.stop();
  }
});

test("with --status-detail, /status shows the source, the API server and the errors", async () => {
  const d = await started(["--status-detail"]);
  try {
    const status = await waitFor(
      "a failed cluster with its error",
      async () => {
        const s = JSON.parse((await get(`${d.url()}/status`)).text) as DaemonStatus;
        return s.clusters.some((c) => c.error) ? s : undefined;
      },
      30_000,
    );
    assert.equal(status.detail, true);
    assert.equal(status.source, path.join(tmp, "repo"));
    assert.match(JSON.stringify(status.clusters), /127\.0\.0\.1:1/);
    assert.doesNotMatch(JSON.stringify(status), /t0ken/);
  } finally {
    await d.stop();
  }
});

test("config: listener defaults outside and inside a cluster, --listen as an alias, --kubeconfig-dir, --local-cluster", async () => {
  const out = parseRunConfig(["--repo", "/srv/mesh"], {}) as DaemonConfig;
  assert.deepEqual(out.webhookListen, { host: "0.0.0.0", port: 8080 });
  assert.deepEqual(out.metricsListen, { host: "127.0.0.1", port: 9090 });
  assert.equal(out.statusDetail, false);
  assert.equal(out.inCluster, undefined);
  assert.deepEqual(out.kubeconfigDirs, []);
  const alias = parseRunConfig(["--repo", "x", "--listen", "127.0.0.1:7000", "--status-detail"], {}) as DaemonConfig;
  assert.deepEqual(alias.webhookListen, { host: "127.0.0.1", port: 7000 });
  assert.equal(alias.statusDetail, true);
  const dirs = parseRunConfig(
    ["--repo", "x", "--kubeconfig-dir", "/a", "--kubeconfig-dir", "/b,/c"],
    {},
  ) as DaemonConfig;
  assert.deepEqual(dirs.kubeconfigDirs, ["/a", "/b", "/c"]);
  assert.throws(() => parseRunConfig(["--repo", "x", "--metrics-listen", "9090"], {}), /--metrics-listen: '9090'/);
  assert.throws(() => parseRunConfig(["--repo", "x", "--local-cluster", "east"], {}), /only inside a cluster/);

  const sa = path.join(tmp, "sa");
  await mkdir(sa, { recursive: true });
  await writeFile(path.join(sa, "token"), "x");
  await writeFile(path.join(sa, "namespace"), "mesh-system\n");
  const podEnv = {
    KUBERNETES_SERVICE_HOST: "10.96.0.1",
    KUBERNETES_SERVICE_PORT: "443",
    CROSSLINK_SERVICEACCOUNT_DIR: sa,
  };
  const pod = parseRunConfig(["--repo", "x", "--local-cluster", "east"], podEnv) as DaemonConfig;
  assert.deepEqual(pod.inCluster, { server: "https://10.96.0.1:443", dir: sa, namespace: "mesh-system" });
  assert.deepEqual(pod.metricsListen, { host: "0.0.0.0", port: 9090 });
  assert.equal(pod.leaseNamespace, "mesh-system");
  assert.equal(pod.localCluster, "east");
  // Without the token file it is not a pod.
  const noToken = parseRunConfig(["--repo", "x"], { ...podEnv, CROSSLINK_SERVICEACCOUNT_DIR: tmp }) as DaemonConfig;
  assert.equal(noToken.inCluster, undefined);
});

test("kubeconfig files: contexts merged, same-named users kept apart, a duplicate context named, a rotation reloaded", async () => {
  const dir = path.join(tmp, "kubeconfigs");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "east.yaml"), kubeconfig(["east"], "east-token", "https://127.0.0.1:6443"));
  await writeFile(path.join(dir, "west.yaml"), kubeconfig(["west"], "west-token", "https://127.0.0.1:7443"));
  await mkdir(path.join(dir, "..2026_11_23"), { recursive: true }); // a Secret volume's timestamped directory
  const files = new KubeconfigFiles({ files: [], dirs: [dir] });
  const kc = files.current;
  for (const [ctx, token, port] of [
    ["east", "east-token", "6443"],
    ["west", "west-token", "7443"],
  ] as const) {
    const c = kc.getContextObject(ctx)!;
    assert.equal(kc.getUser(c.user)?.token, token);
    assert.match(kc.getCluster(c.cluster)!.server, new RegExp(port));
  }
  assert.deepEqual(files.refresh(), { changed: false });
  assert.equal(files.generation, 0);
  await writeFile(path.join(dir, "west.yaml"), kubeconfig(["west"], "rotated-token", "https://127.0.0.1:7443"));
  assert.deepEqual(files.refresh(), { changed: true });
  assert.equal(files.generation, 1);
  assert.equal(files.current.getUser(files.current.getContextObject("west")!.user)?.token, "rotated-token");
  // A broken rotation keeps the last good set.
  await writeFile(path.join(dir, "west.yaml"), "{ not: [yaml");
  const broken = files.refresh();
  assert.equal(broken.changed, false);
  assert.match(broken.error!, /west\.yaml: not a kubeconfig/);
  assert.equal(files.current.getUser(files.current.getContextObject("west")!.user)?.token, "rotated-token");

  assert.throws(
    () =>
      mergeKubeconfigs([
        { file: "/k/a.yaml", text: kubeconfig(["east"], "a") },
        { file: "/k/b.yaml", text: kubeconfig(["east"], "b") },
      ]),
    /\/k\/b\.yaml: context 'east' is also defined in \/k\/a\.yaml/,
  );
});
