/**
 * The daemon observes through LIST+WATCH (the default `--observe watch`),
 * against two harness clusters: after convergence a tick is skipped as
 * unchanged (no observation, no plan, no API request) until the resync
 * ceiling, when it observes every cluster from the caches, still without an
 * API request; a hand edit and a deletion of an owned object are repaired from
 * the watch event in under 1 s with one write each; a watch cut by a loopback
 * TCP proxy in front of one API server is re-established with backoff, shown
 * in /status and /metrics, and the drift made meanwhile is repaired after.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { UNCHANGED_CEILING_MS } from "../../src/daemon/loop.js";
import type { ClusterAccess } from "../../src/kube/access.js";
import type { FaultProxy } from "../support/tcp-proxy.js";
import {
  daemonArgs,
  handEditWeights,
  proxiedKubeconfig,
  runConfig,
  setupDaemonEnv,
  SPLIT_ROUTE,
  splitWeights,
  testClients,
  clientTotals,
  distinctClients,
  waitFor,
  type DaemonEnv,
} from "./support.js";

let env: DaemonEnv;
let proxy: FaultProxy;
let kubeconfig: string;
let d: Daemon;
const accesses: ClusterAccess[] = [];
const requests = () => clientTotals(accesses).requests;
const pings = () => [...distinctClients(accesses)].reduce((m, c) => m + (c.counters.pings ?? 0), 0);
/** A short read-idle period, so the steady state below sees the watch sessions' health check at work. */
const LIVENESS = { readIdleMs: 200, pingTimeoutMs: 5_000 };
const writes = () => clientTotals(accesses).writes;

before(async () => {
  env = await setupDaemonEnv("crosslink-watch-");
  // workload1 is reached through the proxy: the daemon's kubeconfig points there.
  ({ proxy, kubeconfig } = await proxiedKubeconfig(env, "workload1"));
});

after(async () => {
  await d?.stop().catch(() => {});
  await proxy?.cut().catch(() => {});
  await env?.teardown();
});

const status = async (): Promise<DaemonStatus> => (await (await fetch(`${d.url()}/status`)).json()) as DaemonStatus;
const metrics = async (): Promise<string> => (await fetch(`${d.url()}/metrics`)).text();
const w1 = () => env.check.clients.get("workload1")!;

const weights = () => splitWeights(w1());
const handEdit = (a: number, b: number) => handEditWeights(w1(), a, b);

/** Milliseconds until `fn` holds, polling every 10 ms, at most `timeoutMs`. */
async function timeUntil(what: string, fn: () => Promise<boolean>, t0: number, timeoutMs = 10_000): Promise<number> {
  await waitFor(what, fn, timeoutMs, 10);
  return performance.now() - t0;
}

test("watch: idle ticks skipped as unchanged (0 plans, 0 requests) up to the resync ceiling; a hand edit and a deletion repaired in < 1 s with 1 write; a cut watch comes back with backoff", async () => {
  // The flags of the other daemon tests, but workload1 reached through the proxy (the last --kubeconfig wins).
  const cfg = runConfig([
    ...daemonArgs(env, "cache"),
    "--kubeconfig",
    kubeconfig,
    "--schedule",
    "0 0 1 1 *",
    "--shutdown-timeout",
    "10s",
  ]);
  assert.equal(cfg.kubeconfig, kubeconfig);
  assert.equal(cfg.observe, "watch", "watching is the default");
  const factory = testClients(kubeconfig, accesses);
  const clients: typeof factory = (t, previous) => {
    const a = factory(t, previous);
    for (const c of a.clients.values()) c.watchLiveness = LIVENESS;
    return a;
  };
  // A clock the test can move forward, to reach the resync ceiling of unchanged ticks.
  let skewMs = 0;
  const clock = { now: () => new Date(Date.now() + skewMs) };
  d = await createDaemon(cfg, { log: createLogger("silent"), clients, clock });
  await d.start();
  await waitFor("converged", () => d.loop.status.revision.applied === env.repo.first, 60_000, 50);
  // Let the echoes of the first apply's writes settle into one last (empty) reconcile.
  await waitFor("idle", () => !d.loop.busy, 10_000, 20);
  await new Promise((r) => setTimeout(r, 300));
  await waitFor("idle", () => !d.loop.busy, 10_000, 20);

  // (a) Steady state: N ticks with nothing changed are skipped: no observation, no plan, no API request. At the
  // resync ceiling one observes every cluster (from the caches: still no request) and plans nothing; the
  // watches' HTTP/2 sessions are health-checked with PINGs meanwhile (not requests), and stay up. A first tick
  // checks the last writes of the convergence (a reconcile that wrote is no base for a skip).
  await d.loop.tick("schedule");
  const r0 = requests();
  const w0 = writes();
  const p0 = pings();
  const t00 = performance.now();
  const N = 20;
  const reconciles0 = d.loop.status.reconciles;
  const last0 = d.loop.status.lastReconcile?.at;
  const unchangedMetric = async () =>
    Number(/crosslink_reconciles_total\{result="unchanged",trigger="schedule"\} (\d+)/.exec(await metrics())?.[1] ?? 0);
  const u0 = d.loop.status.unchangedTicks ?? 0;
  const m0 = await unchangedMetric();
  let plans = 0;
  for (let i = 0; i < N; i++) {
    const r = await d.loop.tick("schedule");
    if (r.plan) plans++;
    assert.equal(r.skipped, "unchanged", `tick ${i}: skipped as unchanged`);
    assert.equal(r.reconciled, false);
  }
  assert.equal(plans, 0, "no tick planned");
  assert.equal(d.loop.status.reconciles, reconciles0, "no reconcile counted");
  assert.equal(d.loop.status.lastReconcile?.at, last0, "the last reconcile shown is the last that ran");
  assert.equal((d.loop.status.unchangedTicks ?? 0) - u0, N, "status counts the unchanged ticks");
  assert.ok((d.loop.status.unchanged?.ticks ?? 0) >= N);
  assert.equal((await unchangedMetric()) - m0, N, "so does crosslink_reconciles_total{result=unchanged}");
  skewMs = UNCHANGED_CEILING_MS;
  const resync = await d.loop.tick("schedule");
  assert.equal(resync.reconciled, true, "at the ceiling the tick observes and plans");
  assert.equal(
    resync.plan?.clusters.every((c) => c.actions.length === 0),
    true,
  );
  assert.equal(d.loop.status.reconciles, reconciles0 + 1);
  assert.equal(d.loop.status.unchanged, undefined);
  assert.equal((await d.loop.tick("schedule")).skipped, "unchanged", "then skipped again");
  // At least one idle period more, so the PINGs are seen whatever the ticks' speed.
  await new Promise((r) => setTimeout(r, 3 * LIVENESS.readIdleMs));
  console.log(
    `steady state: ${N} unchanged ticks made ${plans} plan(s), then 1 resync tick and 1 unchanged; ` +
      `${requests() - r0} API request(s), ${writes() - w0} write(s); ` +
      `${pings() - p0} PING(s) in ${(performance.now() - t00).toFixed(0)} ms at ${LIVENESS.readIdleMs} ms read-idle`,
  );
  assert.equal(requests() - r0, 0);
  assert.equal(writes() - w0, 0);
  assert.ok(pings() - p0 > 0, "the idle watch sessions were PINGed");
  const s0 = await status();
  assert.ok(s0.watches && s0.watches.length >= 8, `watches in /status: ${s0.watches?.length}`);
  assert.ok(s0.watches.every((w) => w.up));
  assert.match(await metrics(), /crosslink_watch_up\{cluster="workload1",kind="Service",namespace="",selector=""\} 1/);

  // (b) A hand edit of an owned object (another field manager changes the HTTPRoute's weights): repaired from the
  // watch event, with one write.
  let before = writes();
  let t0 = performance.now();
  await handEdit(90, 10);
  const editMs = await timeUntil("the weights repaired", async () => JSON.stringify(await weights()) === "[50,50]", t0);
  await waitFor("idle", () => !d.loop.busy, 10_000, 10);
  console.log(`hand edit repaired in ${editMs.toFixed(0)} ms with ${writes() - before} write(s)`);
  assert.ok(editMs < 1000, `hand edit repaired in ${editMs.toFixed(0)} ms`);
  assert.equal(writes() - before, 1);
  // The repair wrote: the next tick checks the result (observes, plans nothing), the one after is unchanged.
  const check = await d.loop.tick("schedule");
  assert.equal(check.reconciled, true, "a reconcile that wrote is not the base of a skip");
  assert.equal(
    check.plan?.clusters.every((c) => c.actions.length === 0),
    true,
  );
  assert.equal((await d.loop.tick("schedule")).skipped, "unchanged");

  // A deletion of an owned object: recreated from the DELETED event, with one write.
  before = writes();
  t0 = performance.now();
  assert.ok(await w1().delete(SPLIT_ROUTE));
  const deleteMs = await timeUntil(
    "the HTTPRoute recreated",
    async () => JSON.stringify(await weights()) === "[50,50]",
    t0,
  );
  await waitFor("idle", () => !d.loop.busy, 10_000, 10);
  console.log(`deletion repaired in ${deleteMs.toFixed(0)} ms with ${writes() - before} write(s)`);
  assert.ok(deleteMs < 1000, `deletion repaired in ${deleteMs.toFixed(0)} ms`);
  assert.equal(writes() - before, 1);

  // (c) The watches of workload1 break (every connection cut, new ones refused); drift is made meanwhile directly.
  const port = proxy.port;
  await proxy.cut();
  const down = await waitFor(
    "workload1's watches down and backing off in /status",
    async () => {
      const s = await status();
      const mine = s.watches?.filter((w) => w.cluster === "workload1") ?? [];
      return mine.length && mine.every((w) => !w.up && w.restarts >= 1 && w.lastError) ? s : undefined;
    },
    15_000,
    50,
  );
  assert.ok(
    down.watches!.filter((w) => w.cluster === "workload2").every((w) => w.up),
    "workload2 unaffected",
  );
  const cutMetrics = await metrics();
  assert.match(cutMetrics, /crosslink_watch_up\{cluster="workload1",kind="Service",namespace="",selector=""\} 0/);
  assert.match(cutMetrics, /crosslink_watch_restarts_total\{cluster="workload1",kind="Service"\} [1-9]/);
  console.log(`cut: ${down.watches!.find((w) => w.cluster === "workload1")!.lastError}`);
  await handEdit(70, 30);
  await new Promise((r) => setTimeout(r, 2500));
  // A tick while the watches have been down > 2 s: the stale cache is not trusted, workload1 is unreachable.
  const during = await d.loop.tick("schedule");
  assert.equal(during.plan?.clusters.find((c) => c.cluster === "workload1")?.error !== undefined, true);
  const cs = d.loop.status.clusters;
  assert.equal(cs.find((c) => c.name === "workload1")?.state, "unreachable");
  assert.match(cs.find((c) => c.name === "workload1")?.error ?? "", /watch .* down for/);
  assert.equal(cs.find((c) => c.name === "workload2")?.state, "ok");
  assert.deepEqual(await weights(), [70, 30], "nothing repairs it while the watches are down");
  const again = await d.loop.tick("schedule");
  assert.equal(again.skipped, undefined, "a failed cluster is retried (here: backed off), never skipped as unchanged");
  assert.equal(again.reconciled, true);
  t0 = performance.now();
  await proxy.listen(port);
  const backMs = await timeUntil(
    "drift made while cut repaired after the watches came back",
    async () => JSON.stringify(await weights()) === "[50,50]",
    t0,
    45_000,
  );
  const up = await waitFor(
    "every watch up again",
    async () => {
      const s = await status();
      return s.watches?.every((w) => w.up) ? s : undefined;
    },
    45_000,
    50,
  );
  const restarts = up.watches!.filter((w) => w.cluster === "workload1").map((w) => w.restarts);
  console.log(
    `watches re-established and drift repaired ${backMs.toFixed(0)} ms after the proxy came back; workload1 restarts per watch: ${restarts.join(",")}`,
  );
  assert.ok(restarts.every((n) => n >= 1));
  assert.match(await metrics(), /crosslink_watch_up\{cluster="workload1",kind="Service",namespace="",selector=""\} 1/);

  // stop(): watches released, no socket left through the proxy.
  await d.stop();
  await waitFor("no connection left through the proxy", () => proxy.connections() === 0, 5_000, 20);
  assert.equal((await status().catch(() => undefined)) === undefined, true, "the server is closed");
});
