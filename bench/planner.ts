/**
 * Planner benchmark at fleet size, without servers: a topology of N clusters
 * (links both ways around a ring, 100 exported Services and one split per
 * cluster) is loaded, then rendered and planned against recorded observations
 * (the facts observe would return, built by test/support/facts.ts): first
 * against clusters that hold nothing of crosslink's yet, then, after playing
 * the API server for that plan, against the converged clusters (a no-op).
 * Each size runs in its own process, so its peak RSS is its own; garbage the
 * benchmark itself made is collected before each timed phase. Prints each
 * figure beside its budget (1,000 clusters, 100,000 exports: plan under 5 s
 * and 1 GiB), and one machine-readable line `BENCH_JSON {"bench":"planner",...}`
 * (read by `npm run bench:scale`).
 *
 * Usage: node dist/bench/planner.js [--sizes 100,300,1000] [--exports-per-cluster 100]
 */
import { execFile } from "node:child_process";
import { resourceUsage } from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import type { ClusterFacts, ClusterObservation } from "../src/engine/facts.js";
import { plan } from "../src/engine/plan/plan.js";
import type { Plan } from "../src/engine/plan/actions.js";
import { render } from "../src/engine/render/render.js";
import { loadTopology } from "../src/topology/index.js";
import type { Topology } from "../src/topology/types.js";
import { createIssuer, createTrustAnchor } from "../test/harness/pki.js";
import { applyToFacts, clusterFacts, MANAGER } from "../test/support/facts.js";
import { BUDGETS } from "./budgets.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "100,300,1000" },
    "exports-per-cluster": { type: "string", default: "100" },
    child: { type: "string" },
  },
});
const PER_CLUSTER = Number(values["exports-per-cluster"]);
const NOW = new Date("2026-06-01T12:00:00Z");
/** The budget of the largest size (issue 14): plan in under 5 s and 1 GiB. */
const BUDGET = BUDGETS.planner;

/** Wall and CPU time of one phase. */
interface Phase {
  wallMs: number;
  cpuMs: number;
}

/** What one size measured. */
interface SizeResult {
  clusters: number;
  exports: number;
  load: Phase;
  firstPlan: Phase;
  firstActions: number;
  noopPlan: Phase;
  noopActions: number;
  peakRssBytes: number;
}

/** The topology YAML of `n` clusters. */
function topologyYaml(n: number, anchorPem: string): string {
  const name = (i: number) => `c${String(i % n).padStart(4, "0")}`;
  const out = ["apiVersion: crosslink.dev/v1alpha1", "kind: Topology", "metadata:", "  name: fleet", "spec:"];
  out.push("  trustAnchors:", "    - name: root", "      pem: |");
  for (const line of anchorPem.trim().split("\n")) out.push(`        ${line}`);
  out.push("  clusters:");
  for (let i = 0; i < n; i++) out.push(`    - name: ${name(i)}`);
  out.push("  links:");
  for (let i = 0; i < n; i++) out.push(`    - from: ${name(i)}`, `      to: ${name(i + 1)}`);
  for (let i = 0; i < n; i++) out.push(`    - from: ${name(i + 1)}`, `      to: ${name(i)}`);
  out.push("  exports:");
  const services = Array.from({ length: PER_CLUSTER }, (_, j) => `svc-${j}`).join(", ");
  for (let i = 0; i < n; i++)
    out.push(`    - cluster: ${name(i)}`, `      namespace: bench`, `      services: [${services}]`);
  out.push("  splits:");
  for (let i = 0; i < n; i++) {
    out.push(
      `    - cluster: ${name(i)}`,
      `      namespace: bench`,
      `      service: svc-0`,
      `      backends:`,
      `        - service: svc-0`,
      `          weight: 50`,
      `        - service: svc-0`,
      `          cluster: ${name(i + 1)}`,
      `          weight: 50`,
    );
  }
  return out.join("\n") + "\n";
}

function planOnce(topology: Topology, facts: ClusterFacts[]): Plan {
  const observations: ClusterObservation[] = facts.map((f) => ({ cluster: f.cluster, ok: true, facts: f }));
  const desired = render({ topology, facts: new Map(facts.map((f) => [f.cluster, f])), now: NOW });
  return plan(topology, observations, desired, { fieldManager: MANAGER, allowMassPrune: false });
}

/** Wall and CPU (user + system) milliseconds of one phase. */
interface Timed<T> {
  value: T;
  wallMs: number;
  cpuMs: number;
}

async function timed<T>(f: () => T | Promise<T>): Promise<Timed<T>> {
  global.gc?.();
  const cpu = process.cpuUsage();
  const t = performance.now();
  const value = await f();
  const wallMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const actionsOf = (p: Plan) => p.clusters.reduce((n, c) => n + c.actions.length, 0);

async function measureSize(n: number): Promise<SizeResult> {
  const anchor = await createTrustAnchor({ notBefore: new Date(NOW.getTime() - 86_400_000) });
  const issuer = await createIssuer(anchor, { notBefore: new Date(NOW.getTime() - 86_400_000) });
  const text = topologyYaml(n, anchor.certPem);
  const load = await timed(() => loadTopology({ file: "fleet.yaml", text, now: NOW }));
  const { topology, diagnostics } = load.value;
  if (!topology)
    throw new Error(
      diagnostics
        .slice(0, 3)
        .map((d) => `${d.code} ${d.message}`)
        .join("; "),
    );
  const facts = topology.clusters.map((c) =>
    clusterFacts({
      cluster: c.name,
      linkerd: { anchorsPem: anchor.certPem },
      issuerCertPem: issuer.certPem,
      services: Array.from({ length: PER_CLUSTER }, (_, j) => `bench/svc-${j}`),
    }),
  );
  const first = await timed(() => planOnce(topology, facts));
  const blocked = first.value.clusters.filter((c) => c.blocked || c.error);
  if (blocked.length) throw new Error(`cluster ${blocked[0]!.cluster} not planned: ${blocked[0]!.blocked}`);
  const converged = facts.map((f) =>
    applyToFacts(
      f,
      first.value.clusters.find((c) => c.cluster === f.cluster)!,
      { topology: topology.name, now: NOW },
    ),
  );
  const noop = await timed(() => planOnce(topology, converged));
  return {
    clusters: n,
    exports: topology.exports.reduce((k, e) => k + e.services.length, 0),
    load: { wallMs: load.wallMs, cpuMs: load.cpuMs },
    firstPlan: { wallMs: first.wallMs, cpuMs: first.cpuMs },
    firstActions: actionsOf(first.value),
    noopPlan: { wallMs: noop.wallMs, cpuMs: noop.cpuMs },
    noopActions: actionsOf(noop.value),
    peakRssBytes: resourceUsage().maxRSS * 1024,
  };
}

async function main() {
  if (values.child) {
    process.stdout.write(JSON.stringify(await measureSize(Number(values.child))) + "\n");
    return;
  }
  const run = promisify(execFile);
  const self = fileURLToPath(import.meta.url);
  const sizes = values.sizes.split(",").map(Number);
  const s = (p: Phase) => `${(p.cpuMs / 1000).toFixed(2)}s (${(p.wallMs / 1000).toFixed(2)}s)`.padStart(17);
  console.log("times: CPU (wall); wall time includes waiting for a CPU on a shared machine\n");
  console.log(
    `${"clusters".padStart(8)} ${"exports".padStart(8)} ${"load".padStart(17)} ${"first plan".padStart(17)} ${"actions".padStart(8)} ${"no-op plan".padStart(17)} ${"actions".padStart(8)} ${"peak RSS".padStart(9)}`,
  );
  const results: SizeResult[] = [];
  for (const n of sizes) {
    const { stdout } = await run(
      process.execPath,
      [
        "--max-old-space-size=4096",
        "--expose-gc",
        self,
        "--child",
        String(n),
        "--exports-per-cluster",
        String(PER_CLUSTER),
      ],
      { maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout) as SizeResult;
    results.push(r);
    console.log(
      `${String(r.clusters).padStart(8)} ${String(r.exports).padStart(8)} ${s(r.load)} ${s(r.firstPlan)} ${String(r.firstActions).padStart(8)} ${s(r.noopPlan)} ${String(r.noopActions).padStart(8)} ${`${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`.padStart(9)}`,
    );
  }
  const big = results.find((r) => r.clusters === BUDGET.clusters);
  if (big) {
    const ok = (b: boolean) => (b ? "within" : "OVER");
    const cpu = big.load.cpuMs + big.firstPlan.cpuMs;
    const wall = big.load.wallMs + big.firstPlan.wallMs;
    console.log(
      `\n${BUDGET.clusters} clusters, ${big.exports} exports: load + first plan ${(cpu / 1000).toFixed(2)} s CPU, ${(wall / 1000).toFixed(2)} s wall (budget ${BUDGET.ms / 1000} s: CPU ${ok(cpu < BUDGET.ms)}, wall ${ok(wall < BUDGET.ms)}); ` +
        `no-op plan ${(big.noopPlan.cpuMs / 1000).toFixed(2)} s CPU; peak RSS ${(big.peakRssBytes / 2 ** 20).toFixed(0)} MiB ` +
        `(budget ${BUDGET.rssBytes / 2 ** 20} MiB, ${ok(big.peakRssBytes < BUDGET.rssBytes)})`,
    );
  }
  const growth: string[] = [];
  for (let i = 1; i < results.length; i++) {
    const a = results[i - 1]!;
    const b = results[i]!;
    const x = (k: "load" | "firstPlan" | "noopPlan") => (b[k].cpuMs / a[k].cpuMs).toFixed(1);
    growth.push(
      `${a.clusters} → ${b.clusters} clusters (×${(b.clusters / a.clusters).toFixed(1)}): CPU of load ×${x("load")}, first plan ×${x("firstPlan")}, no-op plan ×${x("noopPlan")}`,
    );
  }
  for (const line of growth) console.log(line);
  console.log(`BENCH_JSON ${JSON.stringify({ bench: "planner", budget: BUDGET, sizes: results })}`);
}

await main();
