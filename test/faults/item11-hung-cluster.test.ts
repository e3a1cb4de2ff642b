/**
 * Issue 9, item 11: one hung cluster. A daemon with crosslink's default
 * request policy and deadlines reconciles two clusters, where only workload2
 * links to workload1 (so workload1's plan needs nothing from workload2);
 * workload2's API server is SIGSTOPped (connections open, no answers) and a
 * commit changes workload1's split weights. workload1 must get its change
 * in well under the 15 s observe deadline, the first time too (before: 4
 * tries × 15 s, 60–80 s; then 16.6 s, the deadline, because the plan needed
 * every observation); while the reconcile waits, /status shows it in progress
 * (phase, cluster, since); the error says how many attempts and how long in
 * all; while workload2 is backed off the next commit costs workload1 nothing.
 * Then workload1 hangs: workload2, which links to it, is shown waiting on it.
 * Run under both observe modes: watch (the default; the hang is noticed by
 * the watch sessions' PING health check) and poll (the observe deadline).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { daemonArgs, type DaemonEnv, runConfig, setupDaemonEnv, splitWeights, waitFor } from "../daemon/support.js";

let env: DaemonEnv;
let hungPid: number | undefined;
let daemon: Daemon | undefined;

/** The example's topology, which each scenario starts from. */
let initial = "";

before(async () => {
  env = await setupDaemonEnv("crosslink-hung-");
  initial = env.repo.readTopology();
});

after(async () => {
  if (hungPid) process.kill(hungPid, "SIGCONT");
  await daemon?.stop().catch(() => {});
  await env?.teardown();
});

const weights = async (): Promise<string> => JSON.stringify(await splitWeights(env.check.clients.get("workload1")!));

/** Only workload2 → workload1, and workload1's split between two local Services: workload1 depends on no other cluster. */
const oneWay = (doc: Parameters<Parameters<DaemonEnv["repo"]["edit"]>[1]>[0]) => {
  doc.deleteIn(["spec", "links", 0]);
  doc.deleteIn(["spec", "splits", 0, "backends", 1, "cluster"]);
  doc.setIn(["spec", "splits", 0, "backends", 1, "service"], "podinfo-primary");
};

const setWeights = (a: number, b: number) => (doc: Parameters<Parameters<DaemonEnv["repo"]["edit"]>[1]>[0]) => {
  doc.setIn(["spec", "splits", 0, "backends", 0, "weight"], a);
  doc.setIn(["spec", "splits", 0, "backends", 1, "weight"], b);
};

type Observe = "watch" | "poll";

/** Continues a server left stopped by a failed scenario and stops its daemon, so the next scenario starts clean. */
async function resume(): Promise<void> {
  if (hungPid) process.kill(hungPid, "SIGCONT");
  hungPid = undefined;
  await daemon?.stop().catch(() => {});
  daemon = undefined;
}

/**
 * Waits (30 s at most) until /status reports workload2 unreachable; logs, under `label`, how long after `stoppedAt`
 * (its SIGSTOP) and the error; returns its status and that time in seconds.
 */
async function workload2Unreachable(
  status: () => Promise<DaemonStatus>,
  stoppedAt: number,
  label: string,
): Promise<{ w2: DaemonStatus["clusters"][number]; reported: number }> {
  const w2 = await waitFor(
    `workload2 reported unreachable (${label})`,
    async () => (await status()).clusters.find((c) => c.name === "workload2" && c.state === "unreachable"),
    30_000,
    200,
  );
  const reported = (Date.now() - stoppedAt) / 1000;
  console.log(`${label}: workload2 reported unreachable ${reported.toFixed(1)} s after SIGSTOP: ${w2.error}`);
  return { w2, reported };
}

/**
 * The scenario under one observe mode. Where the modes differ, it is said: polling observes every cluster at each
 * run, so a hung server shows as a run waiting on it (phase observe, then an error giving the attempts and time);
 * watching answers observe from caches, so nothing waits on a hung server: its watch sessions' PINGs go unanswered,
 * the watches fail within read-idle + ping timeout (5 + 10 s) of its last frame, and its cache, down for more than
 * STALE_AFTER_MS, is reported unreachable with that reason.
 */
async function hungCluster(observe: Observe): Promise<void> {
  env.repo.writeTopology(initial);
  const independent = env.repo.edit(`workload1 depends on no other cluster (${observe})`, oneWay);
  const cfg = runConfig([
    ...daemonArgs(env, `cache-hung-${observe}`),
    "--observe",
    observe,
    "--schedule",
    "*/1 * * * * *",
    "--shutdown-timeout",
    "5s",
  ]);
  // The real edges and defaults: no test retry policy, the default watch liveness.
  daemon = await createDaemon(cfg, { log: createLogger(process.env.XL_TEST_LOG ?? "silent", process.stderr) });
  await daemon.start();
  const d = daemon;
  const status = async (): Promise<DaemonStatus> => (await (await fetch(`${d.url()}/status`)).json()) as DaemonStatus;
  await waitFor(
    "the one-way topology applied",
    async () => (await status()).revision.applied === independent,
    60_000,
    200,
  );
  const hung = env.clusters.clusters.find((c) => c.name === "workload2")!;
  if (observe === "watch") await hangWithoutCommit(status, hung.pid);
  process.kill(hung.pid, "SIGSTOP");
  hungPid = hung.pid;
  const stoppedAt = Date.now();

  env.repo.edit(`weights 80/20 (${observe})`, setWeights(80, 20));
  const t0 = Date.now();
  let inProgress: DaemonStatus["reconciling"] | undefined;
  const waited = await waitFor(
    "workload1 gets 80/20",
    async () => {
      const s = await status();
      const waiting = s.reconciling?.clusters?.find((c) => c.name === "workload2");
      if (waiting && !inProgress) inProgress = s.reconciling;
      return (await weights()) === "[80,20]" ? (Date.now() - t0) / 1000 : undefined;
    },
    100_000,
    200,
  ).catch(() => undefined);
  console.log(
    `${observe}: healthy cluster waited ${waited?.toFixed(1) ?? "> 100"} s for its change while workload2 hung; in progress seen: ${JSON.stringify(inProgress)}`,
  );
  // Well under the 15 s observe deadline (the old code waited it out: 16.6–16.8 s): the commit is seen within a
  // second (schedule) and applied in one more; 2.3 s at load 20, 6.4 s at load 35 on the 2-core test machine.
  assert.ok(waited !== undefined && waited < 10, `workload1 waited ${waited?.toFixed(1) ?? "> 100"} s`);
  if (observe === "poll") {
    assert.ok(inProgress, "/status showed the reconcile in progress waiting on workload2");
    assert.equal(inProgress.clusters.find((c) => c.name === "workload2")!.phase, "observe");
    assert.ok(Date.parse(inProgress.since) > 0 && Date.parse(inProgress.phaseSince) > 0);
  }

  // Meanwhile the next runs report it as still being observed by the run it hung (poll) or from its cache (watch).
  const { w2 } = await workload2Unreachable(status, stoppedAt, observe);
  // A commit builds new clients (loop.ts: clients per topology), so under watch too workload2's new cache starts
  // with a LIST that the observe deadline bounds; its error is the poll mode's (or, had the LIST come first, the
  // stale watch's).
  assert.match(
    w2.error!,
    /\d+ attempts?, \d+\.\d s in all|deadline of \d+\.\d s reached|the cache is stale: .*no PING ack/,
  );

  // Backed off: the next commit reaches workload1 without waiting for workload2.
  env.repo.edit(`weights 60/40 (${observe})`, setWeights(60, 40));
  const t1 = Date.now();
  await waitFor("workload1 gets 60/40", async () => (await weights()) === "[60,40]", 10_000, 100);
  const second = (Date.now() - t1) / 1000;
  console.log(`${observe}: second commit while workload2 is backed off: ${second.toFixed(1)} s`);
  assert.ok(second < 10, `second commit took ${second.toFixed(1)} s`);

  process.kill(hung.pid, "SIGCONT");
  hungPid = undefined;
  const contAt = Date.now();
  await waitFor(
    "workload2 observed again",
    async () => (await status()).clusters.find((c) => c.name === "workload2")?.state === "ok",
    60_000,
    200,
  );
  console.log(`${observe}: workload2 ok again ${((Date.now() - contAt) / 1000).toFixed(1)} s after SIGCONT`);

  if (observe === "poll") {
    // workload1 hangs: workload2 (linked to it) waits for it, and status says so. Under watch nothing waits on a
    // hung cluster's observation (it comes from the cache), so there is no such phase to see.
    const hung1 = env.clusters.clusters.find((c) => c.name === "workload1")!;
    process.kill(hung1.pid, "SIGSTOP");
    hungPid = hung1.pid;
    env.repo.edit("weights 70/30", setWeights(70, 30));
    const waiting = await waitFor(
      "workload2 shown waiting on workload1",
      async () => (await status()).reconciling?.clusters.find((c) => c.name === "workload2" && c.phase === "wait"),
      30_000,
      100,
    );
    console.log(`while workload1 hung: ${JSON.stringify(waiting)}`);
    assert.deepEqual(waiting.waitingOn, ["workload1"]);
    process.kill(hung1.pid, "SIGCONT");
    hungPid = undefined;
  }

  const t2 = Date.now();
  await daemon.stop();
  daemon = undefined;
  assert.ok(Date.now() - t2 < 7_000, "stop within the shutdown timeout");
}

/**
 * Watch only: workload2 hangs with no commit, so the daemon's caches (built for this topology) stay: the watch
 * sessions' PINGs go unanswered, the watches fail, and the next run (1 s schedule) reports workload2 unreachable
 * from its stale cache while workload1 stays ok; after SIGCONT the watches re-open with their backoff and the
 * cluster is reconciled again (the cache's `recovered` path).
 */
async function hangWithoutCommit(status: () => Promise<DaemonStatus>, pid: number): Promise<void> {
  const before = await status();
  assert.ok(before.watches?.length && before.watches.every((w) => w.up), "every watch up before the hang");
  process.kill(pid, "SIGSTOP");
  hungPid = pid;
  const stoppedAt = Date.now();
  const { w2, reported } = await workload2Unreachable(status, stoppedAt, "watch, no commit");
  assert.match(w2.error!, /watch .* down for \d+ s, the cache is stale: .*no PING ack in 10\.0 s/);
  // The last frame is at most read-idle (5 s) before the stop (a PING ack, else a PING is due), then one
  // read-idle and the ping timeout (5 + 10 s), the cache's 2 s of staleness and the next run (1 s schedule):
  // 23 s at most; 28 s allows for the loaded 2-core test machine.
  assert.ok(reported < 28, `reported ${reported.toFixed(1)} s after SIGSTOP`);
  const s = await status();
  assert.equal(s.clusters.find((c) => c.name === "workload1")?.state, "ok", "workload1 reconciled meanwhile");
  assert.ok(
    s.watches!.filter((w) => w.cluster === "workload2").every((w) => !w.up),
    "workload2's watches down",
  );
  assert.ok(
    s.watches!.filter((w) => w.cluster === "workload1").every((w) => w.up),
    "workload1's watches up",
  );
  const metrics = await (await fetch(`${daemon!.url()}/metrics`)).text();
  assert.match(metrics, /crosslink_watch_up\{cluster="workload2",kind="Service",namespace="",selector=""\} 0/);

  process.kill(pid, "SIGCONT");
  hungPid = undefined;
  const contAt = Date.now();
  await waitFor(
    "workload2 reconciled again from its re-opened watches",
    async () => {
      const now = await status();
      return now.clusters.find((c) => c.name === "workload2")?.state === "ok" && now.watches!.every((w) => w.up);
    },
    60_000,
    200,
  );
  console.log(
    `watch, no commit: workload2 ok, every watch up ${((Date.now() - contAt) / 1000).toFixed(1)} s after SIGCONT`,
  );
}

test("watch (the default): a hung cluster is noticed by its watch sessions' PINGs, costs the other cluster nothing, and recovers", async () => {
  await hungCluster("watch").finally(resume);
});

test("poll: a hung cluster costs a cluster that does not depend on it nothing; its dependants are shown waiting on it; errors give the total time", async () => {
  await hungCluster("poll").finally(resume);
});
