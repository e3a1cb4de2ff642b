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
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { daemonArgs, type DaemonEnv, runConfig, setupDaemonEnv, waitFor } from "../daemon/support.js";

let env: DaemonEnv;
let hungPid: number | undefined;
let daemon: Daemon | undefined;

before(async () => {
  env = await setupDaemonEnv("crosslink-hung-");
});

after(async () => {
  if (hungPid) process.kill(hungPid, "SIGCONT");
  await daemon?.stop().catch(() => {});
  await env?.teardown();
});

const HTTPROUTE = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  namespace: "test",
  name: "podinfo-split",
};

async function weights(): Promise<string> {
  const hr = await env.check.clients.get("workload1")!.get(HTTPROUTE);
  return JSON.stringify(
    (hr?.spec as { rules: { backendRefs: { weight: number }[] }[] } | undefined)?.rules[0]?.backendRefs.map(
      (b) => b.weight,
    ),
  );
}

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

test("a hung cluster costs a cluster that does not depend on it nothing; its dependants are shown waiting on it; errors give the total time", async () => {
  const independent = env.repo.edit("workload1 depends on no other cluster", oneWay);
  // Polling: this is the observe deadline's test. A watch cache does not see a stopped server until its stream times
  // out (a known gap of --observe watch, in the issue-14 note), so under watch the timing here would be luck.
  const cfg = runConfig([
    ...daemonArgs(env, "cache-hung"),
    "--observe",
    "poll",
    "--schedule",
    "*/1 * * * * *",
    "--shutdown-timeout",
    "5s",
  ]);
  // The real edges and defaults: no test retry policy.
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
  process.kill(hung.pid, "SIGSTOP");
  hungPid = hung.pid;

  env.repo.edit("weights 80/20", setWeights(80, 20));
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
    `healthy cluster waited ${waited?.toFixed(1) ?? "> 100"} s for its change while workload2 hung; in progress seen: ${JSON.stringify(inProgress)}`,
  );
  // Well under the 15 s observe deadline (the old code waited it out: 16.6–16.8 s): the commit is seen within a
  // second (schedule) and applied in one more; 2.3 s at load 20, 6.4 s at load 35 on the 2-core test machine.
  assert.ok(waited !== undefined && waited < 10, `workload1 waited ${waited?.toFixed(1) ?? "> 100"} s`);
  assert.ok(inProgress, "/status showed the reconcile in progress waiting on workload2");
  assert.equal(inProgress.clusters.find((c) => c.name === "workload2")!.phase, "observe");
  assert.ok(Date.parse(inProgress.since) > 0 && Date.parse(inProgress.phaseSince) > 0);

  const w2 = await waitFor(
    "workload2 reported",
    // Meanwhile the next runs report it as still being observed by the run it hung.
    async () => (await status()).clusters.find((c) => c.name === "workload2" && c.state === "unreachable"),
    30_000,
    200,
  );
  console.log(`workload2's error: ${w2.error}`);
  assert.match(w2.error!, /\d+ attempts?, \d+\.\d s in all|deadline of \d+\.\d s reached/);

  // Backed off: the next commit reaches workload1 without waiting for workload2.
  env.repo.edit("weights 60/40", setWeights(60, 40));
  const t1 = Date.now();
  await waitFor("workload1 gets 60/40", async () => (await weights()) === "[60,40]", 10_000, 100);
  const second = (Date.now() - t1) / 1000;
  console.log(`second commit while workload2 is backed off: ${second.toFixed(1)} s`);
  assert.ok(second < 10, `second commit took ${second.toFixed(1)} s`);

  process.kill(hung.pid, "SIGCONT");
  hungPid = undefined;
  await waitFor(
    "workload2 observed again",
    async () => (await status()).clusters.find((c) => c.name === "workload2")?.state === "ok",
    60_000,
    200,
  );

  // workload1 hangs: workload2 (linked to it) waits for it, and status says so.
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

  const t2 = Date.now();
  await daemon.stop();
  daemon = undefined;
  assert.ok(Date.now() - t2 < 7_000, "stop within the shutdown timeout");
});
