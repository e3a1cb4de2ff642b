/**
 * Issue 9, item 1: no write after the Lease is lost (split brain).
 *
 * An old leader (a `crosslink run` child) starts applying a commit that labels
 * 300 Services and is SIGSTOPped in the middle. While it is stopped the
 * commit is superseded (the export's mode changes, so every label value
 * changes), a second replica takes the Lease over and applies the new
 * commit. Then the old leader is resumed: it logs "lease lost", and from that
 * line on the API server must see no write to those Services (their
 * resourceVersions stay as they were). The new leader runs with a long drift
 * interval so that any change in the window is the old leader's. Run with
 * `--drift heal` and with `--drift report`.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { parseRunConfig, type DaemonConfig } from "../../src/daemon/config.js";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../../src/kube/access.js";
import { daemonArgs, type DaemonEnv, setupDaemonEnv, waitFor } from "../daemon/support.js";
import { changedCount, createServices, pause, serviceVersions, spawnDaemon, type DaemonChild } from "./support.js";

const EVERY_SECOND = "*/1 * * * * *";
const NS = "bulk";
const COUNT = 300;
const EXPORTED = "mirror.linkerd.io/exported";

let env: DaemonEnv;
let names: string[];
const children: DaemonChild[] = [];
const daemons: Daemon[] = [];
const stopped = new Set<number>();

before(async () => {
  env = await setupDaemonEnv("crosslink-fence-");
  names = await createServices(env.check.clients.get("workload1")!, NS, COUNT);
});

after(async () => {
  for (const pid of stopped) process.kill(pid, "SIGCONT");
  for (const c of children) c.kill();
  for (const d of daemons) await d.stop().catch(() => {});
  await env?.teardown();
});

/** Sets (or adds) the bulk export of the 300 Services with the given mode. */
const bulkExport =
  (mode: "gateway" | "remote-discovery") => (doc: Parameters<Parameters<DaemonEnv["repo"]["edit"]>[1]>[0]) => {
    const exports = doc.getIn(["spec", "exports"]) as { items: unknown[] };
    const entry = { cluster: "workload1", namespace: NS, mode, services: names };
    const i = exports.items.findIndex((item) => (item as { get(k: string): unknown }).get("namespace") === NS);
    if (i < 0) doc.addIn(["spec", "exports"], doc.createNode(entry));
    else doc.setIn(["spec", "exports", i], doc.createNode(entry));
  };

/** Label values of the bulk Services, counted. */
async function labelValues(): Promise<Record<string, number>> {
  const list = await env.check.clients.get("workload1")!.list("v1", "Service", { namespace: NS });
  const counts: Record<string, number> = {};
  for (const s of list) {
    const v = s.metadata.labels?.[EXPORTED] ?? "(none)";
    counts[v] = (counts[v] ?? 0) + 1;
  }
  return counts;
}

const status = async (d: Daemon): Promise<DaemonStatus> =>
  (await (await fetch(`${d.url()}/status`)).json()) as DaemonStatus;

/** The new replica, in this process, its writes counted. */
async function inProcessDaemon(args: string[]): Promise<Daemon & { writes(): number }> {
  const cfg = parseRunConfig([...daemonArgs(env, `cache-${Math.random().toString(36).slice(2)}`), ...args], {});
  assert.ok(cfg !== "help");
  const accesses: ClusterAccess[] = [];
  const d = await createDaemon(cfg as DaemonConfig, {
    log: createLogger("silent"),
    clients: (t) => {
      const a = clusterAccess(t, loadKubeConfig(env.clusters.kubeconfigPath));
      accesses.push(a);
      return a;
    },
  });
  daemons.push(d);
  await d.start();
  return Object.assign(d, { writes: () => accesses.reduce((n, a) => n + a.totals().writes, 0) });
}

/** Polls the Services' resourceVersions until they have not changed for `quietMs` (at least `minMs`, at most `maxMs`). */
async function settle(minMs: number, quietMs: number, maxMs: number): Promise<Map<string, string>> {
  const w1 = env.check.clients.get("workload1")!;
  const start = Date.now();
  let last = await serviceVersions(w1, NS);
  let quietSince = Date.now();
  while (Date.now() - start < maxMs) {
    await pause(250);
    const now = await serviceVersions(w1, NS);
    if (changedCount(last, now) > 0) quietSince = Date.now();
    last = now;
    if (Date.now() - start >= minMs && Date.now() - quietSince >= quietMs) break;
  }
  return last;
}

async function splitBrain(drift: "heal" | "report"): Promise<void> {
  const w1 = env.check.clients.get("workload1")!;
  const common = [
    "--leader-elect",
    "--lease-context",
    "workload1",
    "--lease-namespace",
    "default",
    "--lease-name",
    `fence-${drift}`,
    "--lease-duration",
    "3s",
    "--drift",
    drift,
    "--schedule",
    EVERY_SECOND,
    "--shutdown-timeout",
    "5s",
  ];
  const old = spawnDaemon([...daemonArgs(env, `cache-old-${drift}`), ...common, "--identity", `old-${drift}`]);
  children.push(old);
  let next: (Daemon & { writes(): number }) | undefined;
  try {
    await old.waitLine(/"msg":"lease acquired"/, 60_000);
    await old.waitLine(/"msg":"revision applied"/, 60_000);
    // The new replica follows; with a 10 min drift interval it writes only for a new revision.
    next = await inProcessDaemon([...common, "--identity", `new-${drift}`, "--drift-interval", "10m"]);
    const replica = next;
    await waitFor("the new replica is ready", async () => (await status(replica)).ready, 15_000);
    assert.equal(replica.elector!.isLeader(), false);

    const from = old.lines.length;
    env.repo.edit(`export ${COUNT} services (gateway)`, bulkExport("gateway"));
    await old.waitLine(/"msg":"applying"/, 30_000, from);
    process.kill(old.child.pid!, "SIGSTOP");
    stopped.add(old.child.pid!);
    const atStop = await labelValues();
    const doneBeforeStop = atStop["true"] ?? 0;
    assert.ok(
      doneBeforeStop < COUNT,
      `the old leader finished its apply before it was stopped (${JSON.stringify(atStop)}); the test needs it stopped in the middle`,
    );

    const superseding = env.repo.edit("export mode remote-discovery", bulkExport("remote-discovery"));
    await waitFor("the new replica takes the Lease over", () => replica.elector!.isLeader(), 20_000, 50);
    await waitFor(
      "the new replica applies the superseding commit",
      async () => (await status(replica)).revision.applied === superseding,
      60_000,
      200,
    );
    assert.deepEqual(await labelValues(), { "remote-discovery": COUNT });
    const newWrites = replica.writes();

    const resumedFrom = old.lines.length;
    process.kill(old.child.pid!, "SIGCONT");
    stopped.delete(old.child.pid!);
    await old.waitLine(/"msg":"lease lost"/, 15_000, resumedFrom);
    const atLost = await serviceVersions(w1, NS);
    // Whatever the old leader still had to send goes out now: give it time, until nothing has changed for 3 s.
    const later = await settle(6_000, 3_000, 30_000);
    const writesAfterLost = changedCount(atLost, later);
    const values = await labelValues();
    const linesAfter = old.lines
      .slice(resumedFrom)
      .map((l) => l.json?.msg)
      .filter(Boolean);
    console.log(
      `drift ${drift}: ${doneBeforeStop} of ${COUNT} labelled before SIGSTOP; Services written after "lease lost": ${writesAfterLost}; labels now ${JSON.stringify(values)}; old leader's messages after SIGCONT: ${JSON.stringify(linesAfter)}`,
    );
    assert.equal(
      replica.writes(),
      newWrites,
      "the new leader wrote nothing in the window (so every change counted is the old leader's)",
    );
    assert.equal(writesAfterLost, 0, `writes to the ${COUNT} Services after the old leader logged "lease lost"`);
    assert.deepEqual(values, { "remote-discovery": COUNT }, "no stale label");

    old.child.kill("SIGTERM");
    const exit = await Promise.race([old.exited, pause(20_000).then(() => undefined)]);
    assert.ok(exit, "the old leader exits on SIGTERM");
  } finally {
    if (stopped.delete(old.child.pid!)) process.kill(old.child.pid!, "SIGCONT");
    old.kill();
    await old.exited;
    if (next) {
      await next.stop().catch(() => {});
      daemons.splice(daemons.indexOf(next), 1);
    }
  }
}

test("split brain, --drift heal: the old leader, resumed after its Lease expired, writes nothing after 'lease lost'", () =>
  splitBrain("heal"));

test("split brain, --drift report: the old leader, resumed after its Lease expired, writes nothing after 'lease lost'", () =>
  splitBrain("report"));
