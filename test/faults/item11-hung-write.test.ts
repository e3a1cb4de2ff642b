/**
 * Issue 9, item 11, under watch: a write to a cluster that hangs before its watches notice. The daemon reaches
 * workload2 through a loopback proxy that, at one point, holds everything the daemon sends while workload2's
 * answers and watch events still flow (a half-hung server). A hand edit in workload2 is then seen from its
 * watch, planned from a cache that still looks fresh, and the repair's write hangs (each attempt bounded by the
 * request timeout, the whole apply by the apply deadline). Meanwhile workload1, which depends on nothing in
 * workload2, must have its own hand edit repaired from its watch event as it would with workload2 healthy: a
 * write waiting on one cluster must not cost another cluster its reconcile.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import type { FaultProxy } from "../support/tcp-proxy.js";
import {
  daemonArgs,
  type DaemonEnv,
  handEditWeights,
  proxiedKubeconfig,
  runConfig,
  setupDaemonEnv,
  splitWeights,
  waitFor,
} from "../daemon/support.js";

let env: DaemonEnv;
let proxy: FaultProxy;
let kubeconfig: string;
let daemon: Daemon | undefined;

before(async () => {
  env = await setupDaemonEnv("crosslink-hung-write-");
  // workload2 is reached through the proxy: the daemon's kubeconfig points there.
  ({ proxy, kubeconfig } = await proxiedKubeconfig(env, "workload2"));
});

after(async () => {
  await daemon?.stop().catch(() => {});
  await proxy?.cut().catch(() => {});
  await env?.teardown();
});

type TopologyDoc = Parameters<Parameters<DaemonEnv["repo"]["edit"]>[1]>[0];

const w1 = () => env.check.clients.get("workload1")!;

/** Only workload2 → workload1, and workload1's split between two local Services: workload1 depends on no other cluster. */
const oneWay = (doc: TopologyDoc) => {
  doc.deleteIn(["spec", "links", 0]);
  doc.deleteIn(["spec", "splits", 0, "backends", 1, "cluster"]);
  doc.setIn(["spec", "splits", 0, "backends", 1, "service"], "podinfo-primary");
};

const PODINFO = { apiVersion: "v1", kind: "Service", namespace: "test", name: "podinfo" };
const exportedLabel = async () =>
  (await env.check.clients.get("workload2")!.get(PODINFO))?.metadata.labels?.["mirror.linkerd.io/exported"];

test("watch: a write hanging on a half-hung cluster does not hold up the repair of another cluster", async () => {
  const independent = env.repo.edit("workload1 depends on no other cluster", oneWay);
  // The flags of the other daemon tests, but workload2 reached through the proxy (the last --kubeconfig wins).
  const cfg = runConfig([
    ...daemonArgs(env, "cache-hung-write"),
    "--kubeconfig",
    kubeconfig,
    "--schedule",
    "0 0 1 1 *",
    "--shutdown-timeout",
    "5s",
  ]);
  assert.equal(cfg.observe, "watch", "watching is the default");
  // The real edges and defaults: no test retry policy, the default watch liveness and apply deadline.
  daemon = await createDaemon(cfg, { log: createLogger(process.env.XL_TEST_LOG ?? "silent", process.stderr) });
  await daemon.start();
  const d = daemon;
  const status = async (): Promise<DaemonStatus> => (await (await fetch(`${d.url()}/status`)).json()) as DaemonStatus;
  await waitFor("the one-way topology applied", async () => (await status()).revision.applied === independent, 60_000);
  await waitFor("every watch up", async () => (await status()).watches?.every((w) => w.up) ?? false, 30_000);
  assert.equal(await exportedLabel(), "true");

  // workload2 half hangs: what the daemon sends is held; its watch events still arrive. A hand edit there (the
  // export label removed) is seen from the watch and its repair's write hangs.
  proxy.hold();
  const heldAt = Date.now();
  await env.check.clients
    .get("workload2")!
    .patch(PODINFO, { metadata: { labels: { "mirror.linkerd.io/exported": null } } }, { fieldManager: "kubectl-edit" });
  const writing = await waitFor(
    "the repair of workload2 writing",
    async () => (await status()).reconciling?.clusters.find((c) => c.name === "workload2" && c.phase === "apply"),
    10_000,
    50,
  );
  console.log(`workload2's repair writing, held: ${JSON.stringify(writing)}`);

  // An operator edits workload1's HTTPRoute by hand while workload2's write hangs.
  const expected = JSON.stringify(await splitWeights(w1()));
  await handEditWeights(w1(), 10, 90);
  const editedAt = Date.now();
  await waitFor(
    "the hand edit in workload1 repaired",
    async () => JSON.stringify(await splitWeights(w1())) === expected,
    60_000,
    50,
  );
  const repaired = (Date.now() - editedAt) / 1000;
  console.log(
    `hand edit in workload1 repaired in ${repaired.toFixed(1)} s (${((Date.now() - heldAt) / 1000).toFixed(1)} s after workload2 half hung)`,
  );
  // A write attempt to a hung server waits its 10 s request timeout, 3 attempts (about 31 s); the repair must not
  // wait for them: the run gives way to the watch's trigger after YIELD_AFTER_MS (3 s), leaving workload2's write
  // to go on alone. 6 s allows for the loaded 2-core test machine.
  assert.ok(repaired < 6, `hand edit repaired in ${repaired.toFixed(1)} s while workload2's write hung`);
  assert.equal(await exportedLabel(), undefined, "workload2's write still held");
  const left = (await status()).clusters.find((c) => c.name === "workload2");
  assert.equal(left?.state, "pending", "workload2 shown as left to its run");
  assert.match(left?.error ?? "", /^still being applied by the reconcile of /);

  proxy.release();
  const releasedAt = Date.now();
  await waitFor("workload2 repaired", async () => (await exportedLabel()) === "true", 60_000, 100);
  console.log(`workload2 repaired ${((Date.now() - releasedAt) / 1000).toFixed(1)} s after the proxy let go`);
  await waitFor("both clusters ok", async () => (await status()).clusters.every((c) => c.state === "ok"), 30_000, 100);

  const t2 = Date.now();
  await daemon.stop();
  daemon = undefined;
  assert.ok(Date.now() - t2 < 7_000, "stop within the shutdown timeout");
});
