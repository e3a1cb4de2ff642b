/**
 * Engine benchmark: 10 local clusters, 2,000 exported services (200 per
 * cluster), links both ways around a ring, one split per cluster. Prints the
 * API requests, writes, wall time and peak memory of crosslink's first apply,
 * a no-op apply and a one-weight change, beside `kubectl apply --server-side`
 * of the rendered manifests on the same clusters (no-op, then first apply
 * after a prune), then each figure of issue 14 beside its budget, and one
 * machine-readable line `BENCH_JSON {"bench":"engine",...}` (read by
 * `npm run bench:scale`).
 *
 * Usage: node dist/bench/engine.js [--clusters N] [--services N] [--concurrency N]
 */
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import yaml from "js-yaml";
import { RECONCILE_DEFAULTS, reconcile, reconcileOptions } from "../src/engine/reconcile.js";
import { startClusters } from "../test/harness/driver.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../src/kube/access.js";
import { desiredManifests } from "../src/cli/render.js";
import { mapLimit } from "../src/util/concurrency.js";
import { KINDS } from "../src/kube/kinds.js";
import { fleetNames, fleetTopology, seedServices } from "./fleet.js";
import type { Topology } from "../src/topology/types.js";
import { BUDGETS } from "./budgets.js";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "10" },
    services: { type: "string", default: "2000" },
    concurrency: { type: "string", default: String(RECONCILE_DEFAULTS.concurrency) },
  },
});
const N = Number(values.clusters);
/** Writes in flight per cluster (the CLI's default unless --concurrency). */
const CONCURRENCY = Number(values.concurrency);
const S = Number(values.services);
const perCluster = Math.ceil(S / N);
const names = fleetNames(N);

/** The bench topology with cluster c0's local split weight `weight`; `empty` declares nothing. */
const topology = (anchor: string, weight: number, empty = false): Promise<Topology> =>
  fleetTopology(names, perCluster, anchor, weight, empty);

/** Requests by verb and retries, added up over every client. */
function verbs(acc: ClusterAccess): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of acc.clients.values()) {
    for (const [verb, n] of Object.entries(c.counters.byVerb)) out[verb] = (out[verb] ?? 0) + n;
    out.retries = (out.retries ?? 0) + c.counters.retries;
  }
  return out;
}

/** What one run cost, over every cluster. */
interface RunCost {
  requests: number;
  writes: number;
  ms: number;
  peakRssBytes: number;
}

async function measure(label: string, acc: ClusterAccess, t: Topology, allowMassPrune = false): Promise<RunCost> {
  const before = acc.totals();
  const verbsBefore = verbs(acc);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const run = await reconcile(
    t,
    acc.clients,
    reconcileOptions({ allowMassPrune, concurrency: CONCURRENCY }),
    () => true,
  );
  const { plan } = run;
  const changes = run.changes!;
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const after = acc.totals();
  const converged = changes.clusters.every((c) => c.converged);
  const actions = plan.clusters.reduce((n, c) => n + c.actions.length, 0);
  const verbsAfter = verbs(acc);
  const byVerb = Object.entries(verbsAfter)
    .map(([verb, n]) => [verb, n - (verbsBefore[verb] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([verb, n]) => `${verb} ${n}`)
    .join(", ");
  row(
    label,
    after.requests - before.requests,
    after.writes - before.writes,
    ms,
    peak,
    `${actions} actions${converged ? "" : ", NOT converged"}; ${byVerb}; ${((after.requests - before.requests) / N).toFixed(1)} requests per cluster; crosslink CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
  );
  if (!converged) throw new Error(`${label}: not converged`);
  return { requests: after.requests - before.requests, writes: after.writes - before.writes, ms, peakRssBytes: peak };
}

async function kubectlApply(label: string, kubeconfig: string, dir: string): Promise<RunCost> {
  const start = performance.now();
  const results = await mapLimit(names, 4, async (name) => {
    const { stderr } = await run(
      "/usr/bin/time",
      [
        "-f",
        "maxrss_kb=%M",
        "kubectl",
        "--kubeconfig",
        kubeconfig,
        "--context",
        name,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=crosslink",
        "-f",
        path.join(dir, `${name}.yaml`),
        "-v=6",
        "--cache-dir",
        path.join(dir, ".kube-cache", name),
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    const requests = stderr.split("\n").filter((l) => /\b(GET|PATCH|POST|PUT|DELETE) https?:\/\//.test(l));
    const writes = requests.filter((l) => !/\bGET /.test(l)).length;
    const rss = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? 0) * 1024;
    return { requests: requests.length, writes, rss };
  });
  const ms = performance.now() - start;
  const sum = (k: "requests" | "writes") => results.reduce((n, r) => n + r[k], 0);
  row(
    label,
    sum("requests"),
    sum("writes"),
    ms,
    Math.max(...results.map((r) => r.rss)),
    `${N} kubectl processes, 4 at a time; memory: largest one`,
  );
  return {
    requests: sum("requests"),
    writes: sum("writes"),
    ms,
    peakRssBytes: Math.max(...results.map((r) => r.rss)),
  };
}

/** Prints each figure beside its budget and kubectl's, and the BENCH_JSON line. */
function report(r: { first: RunCost; noop: RunCost; kubectlFirst: RunCost; kubectlNoop: RunCost }) {
  const noopPerCluster = r.noop.requests / N;
  const firstAllowance = r.first.writes + r.noop.requests;
  const speed = (a: RunCost, k: RunCost) => k.ms / a.ms;
  const mark = (ok: boolean) => (ok ? "pass" : "FAIL");
  const lines: [string, string, string, string, boolean][] = [
    [
      "no-op requests per cluster",
      noopPerCluster.toFixed(1),
      `≤ ${BUDGETS.noopRequestsPerCluster}`,
      `kubectl ${(r.kubectlNoop.requests / N).toFixed(1)}`,
      noopPerCluster <= BUDGETS.noopRequestsPerCluster,
    ],
    [
      "first apply requests",
      `${r.first.requests} (${r.first.writes} writes)`,
      `≤ writes + no-op = ${firstAllowance}`,
      `kubectl ${r.kubectlFirst.requests} (${r.kubectlFirst.writes} writes)`,
      r.first.requests <= firstAllowance,
    ],
    [
      "no-op speed vs kubectl",
      `${speed(r.noop, r.kubectlNoop).toFixed(1)}× (${(r.noop.ms / 1000).toFixed(2)} s)`,
      `≥ ${BUDGETS.speedupOverKubectl}×`,
      `kubectl ${(r.kubectlNoop.ms / 1000).toFixed(2)} s`,
      speed(r.noop, r.kubectlNoop) >= BUDGETS.speedupOverKubectl,
    ],
    [
      "first apply speed vs kubectl",
      `${speed(r.first, r.kubectlFirst).toFixed(1)}× (${(r.first.ms / 1000).toFixed(2)} s)`,
      `≥ ${BUDGETS.speedupOverKubectl}×`,
      `kubectl ${(r.kubectlFirst.ms / 1000).toFixed(2)} s`,
      speed(r.first, r.kubectlFirst) >= BUDGETS.speedupOverKubectl,
    ],
  ];
  console.log(`\n${"figure".padEnd(30)} ${"crosslink".padEnd(24)} ${"budget".padEnd(24)} ${"kubectl".padEnd(26)} mark`);
  for (const [figure, value, budget, kubectl, ok] of lines)
    console.log(`${figure.padEnd(30)} ${value.padEnd(24)} ${budget.padEnd(24)} ${kubectl.padEnd(26)} ${mark(ok)}`);
  const json = { bench: "engine", clusters: N, services: perCluster * N, noopRequestsPerCluster: noopPerCluster, ...r };
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
}

function row(label: string, requests: number, writes: number, ms: number, rss: number, note: string) {
  console.log(
    `${label.padEnd(38)} ${String(requests).padStart(8)} ${String(writes).padStart(7)} ${(ms / 1000).toFixed(2).padStart(8)}s ${(rss / 2 ** 20).toFixed(0).padStart(6)} MiB  ${note}`,
  );
}

/**
 * Waits until every cluster serves its custom resources: an API server just started answers their
 * LISTs with 429 "storage is (re)initializing" for a while, which a long-running cluster never does.
 */
async function warmUp(acc: ClusterAccess) {
  await mapLimit([...acc.clients.values()], 4, async (client) => {
    const groups = await client.discovery();
    const crds = KINDS.filter((k) => !k.version && groups[k.group]?.length);
    await Promise.all(
      crds.map((k) => client.list(`${k.group}/${groups[k.group]![0]}`, k.kind, { labelSelector: "x=y" })),
    );
  });
  // Discovery stays cached for the first apply, as the budget states it ("discovery cached") and as kubectl's
  // first apply below runs (its --cache-dir already holds discovery from its no-op run).
}

async function main() {
  const t0 = performance.now();
  const clusters = await startClusters(names, { log: () => {} });
  console.log(`${N} clusters started and seeded in ${(clusters.ms / 1000).toFixed(1)}s`);
  const acc = clusterAccess(await topology(clusters.trustAnchorPem, 50), loadKubeConfig(clusters.kubeconfigPath));
  try {
    await seedServices(acc.clients.values(), perCluster);
    await warmUp(acc);
    console.log(`${perCluster * N} Services created in ${((performance.now() - t0) / 1000).toFixed(1)}s since start\n`);
    for (const c of acc.clients.values()) {
      c.counters.requests = 0;
      c.counters.writes = 0;
    }
    console.log(
      `${"run".padEnd(38)} ${"requests".padStart(8)} ${"writes".padStart(7)} ${"wall".padStart(9)} ${"peak RSS".padStart(10)}`,
    );
    const first = await measure("crosslink apply (first)", acc, await topology(clusters.trustAnchorPem, 50));
    const noop = await measure("crosslink apply (no-op)", acc, await topology(clusters.trustAnchorPem, 50));
    await measure("crosslink apply (one weight change)", acc, await topology(clusters.trustAnchorPem, 60));
    const current = await topology(clusters.trustAnchorPem, 60);

    const dir = await mkdtemp(path.join(tmpdir(), "xl-bench-"));
    const { desired } = await reconcile(current, acc.clients, reconcileOptions());
    for (const [name, d] of desired) {
      await writeFile(
        path.join(dir, `${name}.yaml`),
        desiredManifests(d, true)
          .map((o) => yaml.dump(o, { noRefs: true }))
          .join("---\n"),
      );
    }
    const kubectlNoop = await kubectlApply("kubectl apply --server-side (no-op)", clusters.kubeconfigPath, dir);
    await measure("crosslink prune (remove everything)", acc, await topology(clusters.trustAnchorPem, 60, true), true);
    const kubectlFirst = await kubectlApply("kubectl apply --server-side (first)", clusters.kubeconfigPath, dir);
    await measure("crosslink apply (after kubectl)", acc, current);
    report({ first, noop, kubectlFirst, kubectlNoop });
  } finally {
    acc.close();
    await clusters.stop();
  }
}

await main();
