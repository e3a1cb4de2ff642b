/**
 * Issue 9, item 2: SIGTERM with a hung cluster. A `crosslink run` child with
 * `--shutdown-timeout 5s` and a Lease is reconciling while workload2's API
 * server is SIGSTOPped (connections open, no answers). On SIGTERM it must
 * abort the reconcile, release its Lease only after, and the process must
 * exit (code 0) within the shutdown timeout plus a small margin: before, it
 * logged "stopped" at 5 s and lived on, its abandoned reconcile still able to
 * write, for up to 99 s.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { daemonArgs, type DaemonEnv, setupDaemonEnv, waitFor } from "../daemon/support.js";
import { pause, spawnDaemon, type DaemonChild } from "./support.js";

const SHUTDOWN_TIMEOUT_S = 5;
/** Exit must follow SIGTERM within the shutdown timeout plus this. */
const MARGIN_S = 3;

let env: DaemonEnv;
let hungPid: number | undefined;
const children: DaemonChild[] = [];

before(async () => {
  env = await setupDaemonEnv("crosslink-sigterm-");
});

after(async () => {
  if (hungPid) process.kill(hungPid, "SIGCONT");
  for (const c of children) c.kill();
  await env?.teardown();
});

test("SIGTERM during a reconcile hung on one cluster: the writes stop, the Lease is released after, the process exits within the shutdown timeout", async () => {
  const d = spawnDaemon([
    ...daemonArgs(env, "cache-sigterm"),
    "--schedule",
    "*/1 * * * * *",
    "--shutdown-timeout",
    `${SHUTDOWN_TIMEOUT_S}s`,
    "--leader-elect",
    "--lease-context",
    "workload1",
    "--lease-namespace",
    "default",
    "--lease-name",
    "sigterm",
    "--lease-duration",
    "6s",
    "--identity",
    "sigterm",
  ]);
  children.push(d);
  await d.waitLine(/"msg":"revision applied"/, 60_000);

  const hung = env.clusters.clusters.find((c) => c.name === "workload2")!;
  process.kill(hung.pid, "SIGSTOP");
  hungPid = hung.pid;
  // A commit for both clusters, so the running reconcile has work waiting on the hung one.
  env.repo.edit("weights 70/30 while workload2 hangs", (doc) => {
    doc.setIn(["spec", "splits", 0, "backends", 0, "weight"], 70);
    doc.setIn(["spec", "splits", 0, "backends", 1, "weight"], 30);
  });
  // Every second a tick starts; let one get stuck on workload2.
  await pause(4_000);

  const from = d.lines.length;
  const t0 = Date.now();
  d.child.kill("SIGTERM");
  const exit = await Promise.race([d.exited, pause(120_000).then(() => undefined)]);
  const exitS = ((exit?.at ?? Date.now()) - t0) / 1000;
  const lines = d.lines.slice(from);
  const stoppedLine = lines.find((l) => l.json?.msg === "stopped");
  const stoppedS = stoppedLine ? (stoppedLine.at - t0) / 1000 : undefined;
  console.log(
    `SIGTERM → "stopped" logged at ${stoppedS?.toFixed(1) ?? "never"} s, process exit at ${exit ? exitS.toFixed(1) : "> 120"} s (code ${exit?.code ?? "none"})`,
  );
  assert.ok(exit, "the process exited within 120 s");
  assert.ok(
    exitS <= SHUTDOWN_TIMEOUT_S + MARGIN_S,
    `exit ${exitS.toFixed(1)} s after SIGTERM (shutdown timeout ${SHUTDOWN_TIMEOUT_S} s)`,
  );
  assert.equal(exit.code, 0);
  assert.ok(stoppedLine, "logged stopped");

  // The Lease was released (after the writes stopped): its holder is empty.
  const lease = await env.check.clients
    .get("workload1")!
    .get({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: "default", name: "sigterm" });
  assert.equal((lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity, "");
  const released = lines.findIndex((l) => l.json?.msg === "lease released");
  const aborted = lines.findIndex((l) => /stopping/.test(String(l.json?.msg)));
  assert.ok(released > aborted && aborted >= 0, `abort before release: ${lines.map((l) => l.json?.msg).join(" | ")}`);

  process.kill(hung.pid, "SIGCONT");
  hungPid = undefined;
  await waitFor(
    "workload2 answers again",
    async () => (await env.check.clients.get("workload2")!.servedVersions("coordination.k8s.io")).length > 0,
    20_000,
    200,
  );
});
