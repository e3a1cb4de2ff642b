/**
 * The daemon end to end, against two harness clusters and `git http-backend`
 * on loopback: webhook and schedule, last-known-good, drift repair, a stopped
 * git server, two replicas with a Lease, and SIGKILL in the middle of an apply.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { formatStatus } from "../../src/cli/status.js";
import { type DaemonConfig } from "../../src/daemon/config.js";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { signWebhook } from "../../src/daemon/webhook.js";
import { reconcile, reconcileOptions } from "../../src/engine/reconcile.js";
import type { StartedClusters } from "../harness/driver.js";
import { type ClusterAccess } from "../../src/kube/access.js";
import { FIELD_MANAGER } from "../../src/kube/http-client.js";
import { loadTopology } from "../../src/topology/index.js";
import type { GitServer } from "../support/git-server.js";
import {
  daemonArgs,
  type DaemonEnv,
  freshCache,
  ROOT,
  runConfig,
  setupDaemonEnv,
  testClients,
  clientTotals,
  type TestRepo,
  TOPOLOGY_PATH,
  waitFor,
} from "./support.js";

const SECRET = "webhook-secret-for-tests";
let tmp: string;
let clusters: StartedClusters;
let server: GitServer;
let repo: TestRepo & { first: string };
let check: ClusterAccess;
const running: Daemon[] = [];
const children: ChildProcess[] = [];

let env: DaemonEnv;

before(async () => {
  env = await setupDaemonEnv("crosslink-daemon-");
  ({ tmp, clusters, server, repo, check } = env);
  await writeFile(path.join(tmp, "webhook-secret"), SECRET + "\n");
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of running) await d.stop().catch(() => {});
  await env?.teardown();
});

function config(extra: string[]): DaemonConfig {
  const cfg = runConfig([
    ...daemonArgs({ server, clusters, tmp }, freshCache()),
    "--webhook-secret-file",
    path.join(tmp, "webhook-secret"),
    "--shutdown-timeout",
    "10s",
    ...extra,
  ]);
  return cfg;
}

/** A daemon whose cluster writes are counted. */
async function daemon(extra: string[]): Promise<Daemon & { writes(): number }> {
  const accesses: ClusterAccess[] = [];
  const d = await createDaemon(config(extra), {
    log: createLogger("silent"),
    clients: testClients(clusters.kubeconfigPath, accesses),
  });
  running.push(d);
  await d.start();
  return Object.assign(d, { writes: () => clientTotals(accesses).writes });
}

/** Reconciles so far by the trigger that started them, from /metrics. */
async function reconcilesByTrigger(d: Daemon): Promise<Record<string, number>> {
  const text = await (await fetch(`${d.url()}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^crosslink_reconciles_total\{([^}]*)\} (\d+)$/gm)) {
    const trigger = /trigger="([^"]*)"/.exec(m[1]!)?.[1] ?? "";
    out[trigger] = (out[trigger] ?? 0) + Number(m[2]);
  }
  return out;
}

const status = async (d: Daemon): Promise<DaemonStatus> =>
  (await (await fetch(`${d.url()}/status`)).json()) as DaemonStatus;

async function hook(d: Daemon, body = { ref: "refs/heads/main" }): Promise<number> {
  const text = JSON.stringify(body);
  const res = await fetch(`${d.webhookUrl()}/hooks/git`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-GitHub-Event": "push",
      "X-Hub-Signature-256": signWebhook(SECRET, text),
    },
    body: text,
  });
  await res.text();
  return res.status;
}

async function weights(): Promise<number[] | undefined> {
  const hr = await check.clients
    .get("workload1")!
    .get({ apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", namespace: "test", name: "podinfo-split" });
  return (hr?.spec as { rules: { backendRefs: { weight: number }[] }[] } | undefined)?.rules[0]?.backendRefs.map(
    (b) => b.weight,
  );
}

const setWeights = (a: number, b: number) => (doc: Parameters<Parameters<TestRepo["edit"]>[1]>[0]) => {
  doc.setIn(["spec", "splits", 0, "backends", 0, "weight"], a);
  doc.setIn(["spec", "splits", 0, "backends", 1, "weight"], b);
};

const LINK = {
  apiVersion: "multicluster.linkerd.io/v1alpha3",
  kind: "Link",
  namespace: "linkerd-multicluster",
  name: "workload2",
};

test("webhook: a weight commit is applied at once; status and metrics show the new revision", async () => {
  const d = await daemon(["--schedule", "0 0 1 1 *"]);
  await waitFor(
    "the first commit applied at startup",
    async () => (await status(d)).revision.applied === repo.first,
    90_000,
  );
  assert.deepEqual(await weights(), [50, 50]);
  const next = repo.edit("weights 90/10", setWeights(90, 10));
  const t0 = Date.now();
  assert.equal(await hook(d), 202);
  await waitFor("weights 90/10", async () => JSON.stringify(await weights()) === "[90,10]", 20_000, 50);
  await waitFor("status shows the new revision", async () => (await status(d)).revision.applied === next, 10_000);
  const metrics = await (await fetch(`${d.url()}/metrics`)).text();
  assert.match(metrics, new RegExp(`crosslink_revision_info\\{role="applied",revision="${next}"\\} 1`));
  assert.match(metrics, /crosslink_applied_changes_total\{cluster="workload1",action="update",status="done"\} 1/);
  assert.match(metrics, /crosslink_cluster_reachable\{cluster="workload2"\} 1/);
  assert.match(metrics, /crosslink_git_fetch_duration_seconds_count\{result="ok"\}/);
  assert.ok(Date.now() - t0 < 20_000);

  // Refused hooks and coalescing: a burst of pushes is at most one follow-up reconcile.
  const bad = await fetch(`${d.webhookUrl()}/hooks/git`, {
    method: "POST",
    headers: { "X-Hub-Signature-256": "sha256=00" },
    body: "{}",
  });
  assert.equal(bad.status, 401);
  // Counted by trigger: a watch event (the cache's own) may start a reconcile of its own meanwhile.
  // The weight commit's reconcile is counted when it ends, which may be after its revision shows as applied.
  await waitFor("the weight commit's reconcile ended", async () => !d.loop.busy, 10_000);
  const before = await reconcilesByTrigger(d);
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5, 6].map(() => hook(d))), [202, 202, 202, 202, 202, 202]);
  assert.equal(await hook(d, { ref: "refs/heads/other" }), 202);
  await waitFor("burst handled", async () => !d.loop.busy, 10_000);
  const afterBurst = await reconcilesByTrigger(d);
  const byWebhook = (afterBurst.webhook ?? 0) - (before.webhook ?? 0);
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  assert.ok(
    sum(afterBurst) > sum(before) && byWebhook <= 2,
    `webhook reconciles after a burst of 6: ${byWebhook} (all, by trigger: ${JSON.stringify(before)} → ${JSON.stringify(afterBurst)})`,
  );
  for (const p of ["/healthz", "/readyz"]) assert.equal((await fetch(`${d.url()}${p}`)).status, 200);
});

test("an invalid commit changes nothing; status shows its located diagnostics; the next valid commit is applied", async () => {
  const d = running[0]!;
  const writes = (d as Daemon & { writes(): number }).writes();
  const good = (await status(d)).revision.applied;
  const bad = repo.edit("broken split", (doc) => doc.setIn(["spec", "splits", 0, "backends", 1, "cluster"], "nowhere"));
  assert.equal(await hook(d), 202);
  const s = await waitFor("the bad commit rejected", async () => {
    const s = await status(d);
    return s.rejected?.revision === bad ? s : undefined;
  });
  assert.equal(s.rejected!.reason, "invalid");
  assert.ok(
    s.rejected!.diagnostics.some((x) => x.severity === "error" && x.file === TOPOLOGY_PATH && x.line > 1),
    JSON.stringify(s.rejected!.diagnostics),
  );
  assert.ok(s.rejected!.since);
  assert.equal(s.revision.lastGood, good);
  assert.equal(s.revision.head, bad);
  assert.match(formatStatus(s), /rejected: {3}[0-9a-f]{12} \(invalid\)/);
  assert.match(formatStatus(s), new RegExp(`${TOPOLOGY_PATH.replace(/\//g, "\\/")}:\\d+:\\d+: error`));
  assert.equal((d as Daemon & { writes(): number }).writes(), writes, "nothing written for the bad commit");
  assert.deepEqual(await weights(), [90, 10]);

  const fixed = repo.edit("fixed: 70/30", (doc) => {
    doc.setIn(["spec", "splits", 0, "backends", 1, "cluster"], "workload2");
    setWeights(70, 30)(doc);
  });
  assert.equal(await hook(d), 202);
  await waitFor(
    "the fixed commit applied",
    async () => (await status(d)).revision.applied === fixed && JSON.stringify(await weights()) === "[70,30]",
    20_000,
  );
  assert.equal((await status(d)).rejected, undefined);
  await d.stop();
  running.splice(0, 1);
});

test("schedule: a hand-deleted Link is repaired at the next tick, a commit is applied within one tick, a stopped git server keeps the last state", async () => {
  const d = await daemon(["--schedule", "*/2 * * * * *"]);
  await waitFor("ready", async () => (await status(d)).revision.applied !== undefined, 30_000);
  const w1 = check.clients.get("workload1")!;
  assert.ok(await w1.delete(LINK));
  await waitFor("the Link repaired", async () => Boolean(await w1.get(LINK)), 15_000, 200);

  const next = repo.edit("weights 60/40", setWeights(60, 40));
  await waitFor(
    "weights 60/40 without a webhook",
    async () => JSON.stringify(await weights()) === "[60,40]",
    15_000,
    200,
  );
  await waitFor("status", async () => (await status(d)).revision.applied === next, 10_000);

  await server.stop();
  try {
    const s = await waitFor(
      "the fetch error reported",
      async () => {
        const s = await status(d);
        return s.fetch.ok === false ? s : undefined;
      },
      15_000,
    );
    assert.equal(s.fetch.code, "SOURCE_FETCH");
    assert.match(
      await (await fetch(`${d.url()}/metrics`)).text(),
      /crosslink_git_fetches_total\{result="error"\} [1-9]/,
    );
    assert.equal(s.revision.lastGood, next);
    assert.deepEqual(await weights(), [60, 40]);
    assert.ok(await w1.delete(LINK));
    await waitFor("drift repaired while git is down", async () => Boolean(await w1.get(LINK)), 15_000, 200);
  } finally {
    await server.start();
  }
  const after = repo.edit("weights 50/50", setWeights(50, 50));
  await waitFor(
    "recovered and applied",
    async () => (await status(d)).revision.applied === after && (await status(d)).fetch.ok === true,
    20_000,
  );
  assert.deepEqual(await weights(), [50, 50]);
  await d.stop();
  running.splice(running.indexOf(d), 1);
});

test("two replicas: only the Lease holder writes; stopping it hands over within the lease time", async () => {
  const lease = [
    "--leader-elect",
    "--lease-context",
    "workload1",
    "--lease-namespace",
    "default",
    "--lease-name",
    "crosslink-test",
    "--lease-duration",
    "4s",
    "--schedule",
    "*/2 * * * * *",
  ];
  const a = await daemon([...lease, "--identity", "replica-a"]);
  await waitFor("a leads", () => a.elector!.isLeader(), 10_000);
  const b = await daemon([...lease, "--identity", "replica-b"]);
  await waitFor("b synced", async () => (await status(b)).ready, 10_000);
  const c1 = repo.edit("weights 80/20", setWeights(80, 20));
  await waitFor("a applies", async () => (await status(a)).revision.applied === c1, 20_000);
  assert.deepEqual(await weights(), [80, 20]);
  assert.ok(a.writes() > 0);
  assert.equal(b.writes(), 0, "the follower never writes");
  assert.equal((await status(b)).role, "follower");
  // The follower syncs on its own schedule (every 2 s): give it one tick to see the commit.
  await waitFor("the follower serves status", async () => (await status(b)).revision.head === c1, 5_000);

  const aWrites = a.writes();
  const t0 = Date.now();
  await a.stop();
  running.splice(running.indexOf(a), 1);
  await waitFor("b takes over", () => b.elector!.isLeader(), 4_000 + 2_000, 50);
  const handover = Date.now() - t0;
  assert.ok(handover <= 4_000 + 2_000, `handover ${handover} ms`);
  const c2 = repo.edit("weights 30/70", setWeights(30, 70));
  await waitFor(
    "b applies",
    async () => (await status(b)).revision.applied === c2 && JSON.stringify(await weights()) === "[30,70]",
    20_000,
  );
  assert.equal(a.writes(), aWrites);
  const l = await check.clients
    .get("workload1")!
    .get({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "default", name: "crosslink-test" });
  assert.equal((l!.spec as { holderIdentity: string }).holderIdentity, "replica-b");
  await b.stop();
  running.splice(running.indexOf(b), 1);
});

function spawnDaemon(cacheName: string): {
  child: ChildProcess;
  lines: string[];
  waitLine(re: RegExp, ms: number): Promise<string>;
} {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "bin", "crosslink.js"),
      "run",
      ...daemonArgs({ server, clusters, tmp }, cacheName),
      "--schedule",
      "*/2 * * * * *",
      "--shutdown-timeout",
      "10s",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CROSSLINK_LOG_LEVEL: "info" } },
  );
  children.push(child);
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line);
    for (const w of [...waiters])
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
  });
  child.stderr!.resume();
  return {
    child,
    lines,
    waitLine: (re, ms) =>
      new Promise<string>((resolve, reject) => {
        const hit = lines.find((l) => re.test(l));
        if (hit) return resolve(hit);
        const t = setTimeout(
          () => reject(new Error(`no log line ${re} in ${ms} ms; got:\n${lines.slice(-10).join("\n")}`)),
          ms,
        );
        waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
      }),
  };
}

test("SIGKILL in the middle of an apply: a restarted daemon converges with no duplicate or orphaned objects; SIGTERM exits 0", async () => {
  const cache = "cache-child";
  const first = spawnDaemon(cache);
  await first.waitLine(/"msg":"crosslink daemon started"/, 20_000);
  await first.waitLine(/"msg":"revision applied"/, 30_000);
  repo.edit("split as SMI TrafficSplit, 20/80", (doc) => {
    doc.setIn(["spec", "splits", 0, "api"], "smi");
    setWeights(20, 80)(doc);
  });
  await first.waitLine(/"msg":"applying"/, 15_000);
  first.child.kill("SIGKILL");
  await new Promise((r) => first.child.once("exit", r));

  const second = spawnDaemon(cache);
  const applied = await second.waitLine(/"msg":"revision applied"/, 30_000);
  assert.match(applied, /"revision":"[0-9a-f]{40}"/);
  const { topology } = await loadTopology({
    file: path.join(repo.work, TOPOLOGY_PATH),
    text: repo.readTopology(),
    readFile: async () => clusters.trustAnchorPem,
  });
  const { plan } = await reconcile(topology!, check.clients, reconcileOptions({ fieldManager: FIELD_MANAGER }));
  assert.deepEqual(
    plan.clusters.map((c) => [c.cluster, c.actions.length, c.error ?? ""]),
    [
      ["workload1", 0, ""],
      ["workload2", 0, ""],
    ],
    "converged: nothing to create, update or prune",
  );
  const ts = await check.clients
    .get("workload1")!
    .list("split.smi-spec.io/v1alpha2", "TrafficSplit", { namespace: "test" });
  assert.equal(ts.length, 1, "one TrafficSplit");
  assert.deepEqual(
    (ts[0]!.spec as { backends: { weight: number }[] }).backends.map((b) => b.weight),
    [20, 80],
  );
  assert.equal(await weights(), undefined, "the HTTPRoute is pruned");

  second.child.kill("SIGTERM");
  const code = await new Promise<number | null>((r) => second.child.once("exit", (c) => r(c)));
  assert.equal(code, 0);
  assert.ok(second.lines.some((l) => l.includes('"msg":"stopped"')));
  for (const l of [...first.lines, ...second.lines]) assert.doesNotMatch(l, new RegExp(SECRET));
});
