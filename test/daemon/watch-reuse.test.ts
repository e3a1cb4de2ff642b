/**
 * A new topology commit keeps the clients and watch caches of the clusters reached the same way, against two
 * harness clusters and a served repository (`--observe watch`): a commit that only moves a split weight makes
 * no request to the other cluster and one write, with no client built nor watch restarted; a commit that
 * removes workload2 closes its client and its watches (gone from /status and /metrics) and keeps workload1's; a
 * commit that adds it back builds one client. Watches no reconcile of the topology in force reads are released
 * (workload1's whole ClusterRole LIST once workload2 and its managed link are gone); the first reconcile, a first
 * contact, opens none it does not need. Requests are the clients' own counters.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import type { ClusterAccess } from "../../src/kube/access.js";
import type { ClusterClient } from "../../src/kube/port.js";
import {
  daemonArgs,
  distinctClients,
  runConfig,
  setupDaemonEnv,
  splitWeights,
  testClients,
  waitFor,
  type DaemonEnv,
} from "./support.js";

let env: DaemonEnv;
let d: Daemon | undefined;
const accesses: ClusterAccess[] = [];

before(async () => {
  env = await setupDaemonEnv("crosslink-reuse-");
});

after(async () => {
  await d?.stop().catch(() => {});
  await env?.teardown();
});

/** workload1 alone: no link, export nor split (what removing workload2 from the topology leaves). */
const ALONE = `apiVersion: crosslink.dev/v1alpha1
kind: Topology
metadata:
  name: podinfo-split
spec:
  trustAnchors:
    - name: root
      file: anchors/root.crt
  clusters:
    - name: workload1
`;

/** The daemon's log lines, parsed. */
const logged: { msg: string; kept?: number; built?: number; closed?: number; released?: number }[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString("utf8").split("\n"))
      if (line) logged.push(JSON.parse(line) as (typeof logged)[0]);
    done();
  },
});
/** The lines logged with this message from line `from` on. */
const lines = (msg: string, from = 0) => logged.slice(from).filter((l) => l.msg === msg);
const CLIENTS_LOG = "cluster clients for the new topology";
const RELEASED_LOG = "watches the topology no longer reads released";
/** Watches released as unread from line `from` on. */
const releasedSince = (from: number) => lines(RELEASED_LOG, from).reduce((n, l) => n + (l.released ?? 0), 0);

const status = async (): Promise<DaemonStatus> => (await (await fetch(`${d!.url()}/status`)).json()) as DaemonStatus;
const metrics = async (): Promise<string> => (await fetch(`${d!.url()}/metrics`)).text();

/** Requests, LISTs-or-GETs and writes each cluster's clients have sent, each client counted once. */
function counts(cluster: string): { requests: number; gets: number; writes: number; clients: number } {
  const clients: ClusterClient[] = [...distinctClients(accesses, cluster)];
  const sum = (f: (c: ClusterClient) => number) => clients.reduce((n, c) => n + f(c), 0);
  return {
    requests: sum((c) => c.counters.requests),
    gets: sum((c) => c.counters.byVerb.GET ?? 0),
    writes: sum((c) => c.counters.writes),
    clients: clients.length,
  };
}

/** What changed in each cluster's counters since `before`. */
function since(before: Record<string, ReturnType<typeof counts>>): Record<string, ReturnType<typeof counts>> {
  const out: Record<string, ReturnType<typeof counts>> = {};
  for (const [name, b] of Object.entries(before)) {
    const now = counts(name);
    out[name] = {
      requests: now.requests - b.requests,
      gets: now.gets - b.gets,
      writes: now.writes - b.writes,
      clients: now.clients - b.clients,
    };
  }
  return out;
}

/** Each watch as one string: cluster, kind, version, namespace and selectors. */
const keys = (ws: NonNullable<DaemonStatus["watches"]>): string[] =>
  ws.map((w) => [w.cluster, w.kind, w.apiVersion, w.namespace, w.labelSelector, w.fieldSelector].join(" "));

/** A watch key's kind, and whether it reads the owned objects (by owner label) or the whole kind. */
const shape = (key: string): [string, "owned" | "whole"] => [
  key.split(" ")[1]!,
  key.includes("managed-by") ? "owned" : "whole",
];

const snapshot = () => ({ workload1: counts("workload1"), workload2: counts("workload2") });

/**
 * Runs ticks until the pushed revision is applied, then until one is skipped as unchanged: a run found every
 * cluster converged before it (so the watches the topology does not read are released).
 */
async function converge(revision: string): Promise<void> {
  await waitFor(
    `revision ${revision.slice(0, 8)} applied`,
    async () => {
      if (!d!.loop.busy) await d!.loop.trigger("schedule");
      return d!.loop.status.revision.applied === revision;
    },
    60_000,
    50,
  );
  await waitFor("idle", () => !d!.loop.busy, 10_000, 20);
  await waitFor("a tick skipped as unchanged", async () => (await d!.loop.tick("schedule")).skipped, 10_000, 20);
}

test("reuse: a weight-only commit makes 0 requests to workload2 and 1 write, builds no client; removing workload2 closes its client and watches; adding it back builds 1 client", async () => {
  const cfg = runConfig([
    ...daemonArgs(env, "cache"),
    "--schedule",
    "0 0 1 1 *",
    "--shutdown-timeout",
    "10s",
    // Removing a cluster prunes its links in the other: more than the prune guard lets through unasked.
    "--allow-mass-prune",
  ]);
  assert.equal(cfg.observe, "watch");
  d = await createDaemon(cfg, {
    log: createLogger("info", sink),
    clients: testClients(env.clusters.kubeconfigPath, accesses),
  });
  await d.start();
  await converge(env.repo.first);
  assert.deepEqual(await splitWeights(env.check.clients.get("workload1")!), [50, 50]);
  // The clusters hold nothing of crosslink's yet (a first contact, no kinds record): the first reconcile reads only the
  // kinds the topology renders there, so no watch is left for the converged run to release (before, every owned kind
  // was read and 7 watches were released).
  assert.equal(releasedSince(0), 0, "a first contact opens no watch it does not need");
  const watches0 = (await status()).watches ?? [];
  const of = (ws: typeof watches0, cluster: string) => ws.filter((w) => w.cluster === cluster);
  assert.ok(of(watches0, "workload2").length > 0 && of(watches0, "workload1").length > 0);
  assert.deepEqual(snapshot().workload1.clients, 1);

  // (a) Only a split weight moves: the clients and their watches stay; workload2 sees no request at all.
  let before = snapshot();
  let mark = logged.length;
  const weightCommit = env.repo.edit("split 60/40", (doc) => {
    doc.setIn(["spec", "splits", 0, "backends", 0, "weight"], 60);
    doc.setIn(["spec", "splits", 0, "backends", 1, "weight"], 40);
  });
  await converge(weightCommit);
  assert.deepEqual(await splitWeights(env.check.clients.get("workload1")!), [60, 40]);
  let delta = since(before);
  console.log(
    `weight-only commit: workload1 ${delta.workload1!.requests} request(s) (${delta.workload1!.gets} GET, ` +
      `${delta.workload1!.writes} write(s)), workload2 ${delta.workload2!.requests} request(s); ` +
      `clients built ${delta.workload1!.clients + delta.workload2!.clients}; ` +
      `watches ${watches0.length} -> ${(await status()).watches?.length}`,
  );
  assert.equal(delta.workload2!.requests, 0, "workload2: no request (no LIST, no discovery)");
  assert.equal(delta.workload1!.gets, 0, "workload1: no LIST (its watches stay)");
  assert.equal(delta.workload1!.writes + delta.workload2!.writes, 1, "one write: the HTTPRoute");
  assert.equal(delta.workload1!.clients + delta.workload2!.clients, 0, "no client built");
  assert.deepEqual(
    lines(CLIENTS_LOG, mark).map(({ kept, built, closed }) => ({ kept, built, closed })),
    [{ kept: 2, built: 0, closed: 0 }],
  );
  assert.equal(releasedSince(mark), 0, "no watch released");
  const watches1 = (await status()).watches ?? [];
  assert.deepEqual(keys(watches1), keys(watches0), "the same watches");
  assert.ok(
    watches1.every((w) => w.up && w.restarts === 0 && w.relists === 0),
    "none restarted nor relisted",
  );
  assert.equal((await d.loop.tick("schedule")).skipped, "unchanged", "then idle ticks are skipped again");

  // (b) workload2 leaves the topology: its client is closed, its watches leave /status and /metrics; workload1
  // keeps its client and the watches the new topology still reads there; the one it no longer reads is released.
  assert.match(await metrics(), /crosslink_cluster_writes_total\{[^}]*cluster="workload2"/, "workload2 was written");
  before = snapshot();
  mark = logged.length;
  const full = env.repo.readTopology();
  env.repo.writeTopology(ALONE);
  const removal = env.repo.commit("workload2 leaves");
  await converge(removal);
  delta = since(before);
  const watches2 = (await status()).watches ?? [];
  const text = await metrics();
  console.log(
    `removal commit: workload1 watches ${of(watches1, "workload1").length} -> ${of(watches2, "workload1").length}, ` +
      `workload2 ${of(watches1, "workload2").length} -> ${of(watches2, "workload2").length}; ` +
      `workload1 ${delta.workload1!.requests} request(s), ${delta.workload1!.writes} write(s); ` +
      `clients built ${delta.workload1!.clients + delta.workload2!.clients}; released as unread ${releasedSince(mark)}`,
  );
  assert.deepEqual(
    lines(CLIENTS_LOG, mark).map(({ kept, built, closed }) => ({ kept, built, closed })),
    [{ kept: 1, built: 0, closed: 1 }],
  );
  assert.equal(of(watches2, "workload2").length, 0, "no watch of workload2 in /status");
  assert.doesNotMatch(text, /crosslink_watch_(up|objects)\{cluster="workload2"/, "nor in /metrics");
  assert.doesNotMatch(
    text,
    /crosslink_(cluster_reachable|planned_changes|applied_changes_total|cluster_writes_total)\{[^}]*cluster="workload2"/,
    "nor its reachable, planned-changes, applied-changes and writes series",
  );
  assert.match(text, /crosslink_cluster_writes_total\{[^}]*cluster="workload1"/, "workload1's writes stay");
  assert.match(text, /crosslink_cluster_reachable\{cluster="workload1"\} 1/);
  assert.ok(of(watches2, "workload1").length > 0, "workload1 still watched");
  const w1before = keys(of(watches1, "workload1"));
  const w1after = keys(of(watches2, "workload1"));
  // Without a managed link from workload1, its ClusterRoles are read by owner label, not whole (observe.ts).
  const opened = w1after.filter((k) => !w1before.includes(k)).map(shape);
  const closed = w1before.filter((k) => !w1after.includes(k)).map(shape);
  assert.deepEqual(opened, [["ClusterRole", "owned"]], "workload1: one watch opened");
  assert.deepEqual(closed, [["ClusterRole", "whole"]], "workload1: the watch the topology no longer reads released");
  assert.equal(releasedSince(mark), 1);
  assert.ok(
    of(watches2, "workload1").every((w) => w.up && w.restarts === 0),
    "workload1's kept watches stayed open",
  );
  assert.equal(delta.workload1!.clients + delta.workload2!.clients, 0, "no client built");
  assert.equal(delta.workload2!.requests, 0, "workload2 no longer read");
  // An unused watch released is no watch change: the next ticks are skipped as unchanged.
  await d.loop.tick("schedule");
  assert.equal((await d.loop.tick("schedule")).skipped, "unchanged");

  // (c) workload2 comes back: one client built (workload2's), workload1's kept.
  before = snapshot();
  mark = logged.length;
  env.repo.writeTopology(full);
  const back = env.repo.commit("workload2 back");
  await converge(back);
  delta = since(before);
  const watches3 = (await status()).watches ?? [];
  console.log(
    `addition commit: clients built workload1 ${delta.workload1!.clients}, workload2 ${delta.workload2!.clients}; ` +
      `watches ${watches2.length} -> ${watches3.length}`,
  );
  assert.deepEqual(
    lines(CLIENTS_LOG, mark).map(({ kept, built, closed }) => ({ kept, built, closed })),
    [{ kept: 1, built: 1, closed: 0 }],
  );
  assert.equal(delta.workload2!.clients, 1, "one client built: workload2's");
  assert.equal(delta.workload1!.clients, 0, "workload1's kept");
  assert.deepEqual(keys(watches3), keys(watches1), "the watches of the first topology again");
  assert.ok(of(watches3, "workload2").length > 0 && watches3.every((w) => w.up));
  assert.deepEqual(await splitWeights(env.check.clients.get("workload1")!), [60, 40]);

  await d.stop();
  d = undefined;
});
