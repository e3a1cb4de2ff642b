/**
 * Daemon benchmark against two harness clusters and `git http-backend` on
 * loopback. Prints: commit-to-applied latency after a webhook; the cost of a
 * no-change tick (git requests and bytes, API requests), with and without a
 * drift check; the daemon's memory after 1,000 ticks.
 * Run: npm run build && node dist/bench/daemon.js
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseRunConfig } from "../src/daemon/config.js";
import { createDaemon } from "../src/daemon/daemon.js";
import { createLogger } from "../src/daemon/log.js";
import { signWebhook } from "../src/daemon/webhook.js";
import { startClusters } from "../test/harness/driver.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../src/kube/access.js";
import { startGitServer } from "../test/support/git-server.js";
import { createRepo, TOPOLOGY_PATH, waitFor } from "../test/daemon/support.js";

const SECRET = "bench-secret";
const tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-bench-"));
const clusters = await startClusters(["workload1", "workload2"], { log: () => {} });
const repo = createRepo(path.join(tmp, "repos"), "mesh", "podinfo-split", clusters.trustAnchorPem);
const server = await startGitServer({ root: path.join(tmp, "repos") });
await writeFile(path.join(tmp, "secret"), SECRET);
const accesses: ClusterAccess[] = [];
const apiRequests = () =>
  accesses.reduce((n, a) => n + [...a.clients.values()].reduce((m, c) => m + c.counters.requests, 0), 0);

async function run(driftInterval: string) {
  const cfg = parseRunConfig(
    [
      "--repo",
      `${server.url}/mesh.git`,
      "--path",
      TOPOLOGY_PATH,
      "--webhook-listen",
      "127.0.0.1:0",
      "--metrics-listen",
      "127.0.0.1:0",
      "--status-detail",
      "--kubeconfig",
      clusters.kubeconfigPath,
      "--cache-dir",
      path.join(tmp, `cache-${driftInterval}`),
      "--webhook-secret-file",
      path.join(tmp, "secret"),
      "--schedule",
      "0 0 1 1 *",
      "--drift-interval",
      driftInterval,
    ],
    {},
  );
  if (cfg === "help") throw new Error("unreachable");
  return createDaemon(cfg, {
    log: createLogger("silent"),
    clients: (t) => {
      const a = clusterAccess(t, loadKubeConfig(clusters.kubeconfigPath));
      accesses.push(a);
      return a;
    },
  });
}

try {
  const d = await run("0");
  await d.start();
  await waitFor("first apply", () => d.loop.status.revision.applied === repo.first, 90_000, 20);

  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const w = 10 + i * 10;
    const sha = repo.edit(`weights ${w}`, (doc) => {
      doc.setIn(["spec", "splits", 0, "backends", 0, "weight"], w);
      doc.setIn(["spec", "splits", 0, "backends", 1, "weight"], 100 - w);
    });
    const body = JSON.stringify({ ref: "refs/heads/main", after: sha });
    const t0 = performance.now();
    await fetch(`${d.webhookUrl()}/hooks/git`, {
      method: "POST",
      headers: { "X-GitHub-Event": "push", "X-Hub-Signature-256": signWebhook(SECRET, body) },
      body,
    });
    await waitFor("applied", () => d.loop.status.revision.applied === sha, 30_000, 5);
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  console.log(
    `commit-to-applied after a webhook: median ${latencies[2]!.toFixed(0)} ms, min ${latencies[0]!.toFixed(0)} ms, max ${latencies[4]!.toFixed(0)} ms (5 commits)`,
  );

  const cost = async (label: string, tick: () => Promise<unknown>) => {
    server.resetStats();
    const api0 = apiRequests();
    const t0 = performance.now();
    await tick();
    console.log(
      `no-change tick (${label}): ${(performance.now() - t0).toFixed(1)} ms, git ${server.stats.requests} request(s) ${server.stats.bytesOut} bytes, API ${apiRequests() - api0} request(s)`,
    );
  };
  await cost("drift check every tick, the default", () => d.loop.tick("bench"));
  await d.stop();

  const quiet = await run("1h");
  await quiet.start();
  await waitFor("synced", () => quiet.loop.status.revision.applied !== undefined, 30_000, 20);
  await cost("drift check not due", () => quiet.loop.tick("bench"));

  global.gc?.();
  const before = process.memoryUsage();
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) await quiet.loop.tick("bench");
  const ms = performance.now() - t0;
  global.gc?.();
  const afterMem = process.memoryUsage();
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.log(
    `1,000 no-change ticks: ${(ms / 1000).toFixed(1)} s (${(ms / 1000).toFixed(2)} ms/tick); memory after: rss ${mb(afterMem.rss)} MiB, heap used ${mb(afterMem.heapUsed)} MiB (before: rss ${mb(before.rss)} MiB, heap ${mb(before.heapUsed)} MiB)`,
  );
  await quiet.stop();
} finally {
  for (const a of accesses) a.close();
  await server.stop();
  await clusters.stop();
  await rm(tmp, { recursive: true, force: true });
}
