/**
 * One run of every figure issue 14 names: starts bench:planner, bench:engine
 * and bench:daemon one after the other as child processes (never two at once:
 * each measures time and memory), passes their output through, reads the
 * `BENCH_JSON {...}` line each prints (for bench:daemon, without one, the
 * figures of its text lines), and ends with one table of every figure beside
 * its budget and a pass/fail mark. A figure a bench did not give is "—".
 * Exits 0 when every figure given is within budget, 1 otherwise.
 *
 * Usage: node dist/bench/scale.js [--benches planner,engine,daemon]
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BUDGETS } from "./budgets.js";

/** How each bench is started (its script beside this one, and node's flags). */
const BENCHES: Record<string, { script: string; nodeArgs: string[] }> = {
  planner: { script: "planner.js", nodeArgs: [] },
  engine: { script: "engine.js", nodeArgs: [] },
  daemon: { script: "daemon.js", nodeArgs: ["--expose-gc"] },
};

/** One bench's output: its BENCH_JSON object (if any), its text, its exit status and wall time. */
export interface BenchOutput {
  json?: Record<string, unknown>;
  text: string;
  code: number | null;
  ms: number;
}

/** The BENCH_JSON object of a bench's output (the last such line), or undefined. */
export function benchJson(text: string): Record<string, unknown> | undefined {
  let found: Record<string, unknown> | undefined;
  for (const line of text.split("\n")) {
    const m = /^BENCH_JSON (\{.*\})\s*$/.exec(line);
    if (!m) continue;
    try {
      found = JSON.parse(m[1]!) as Record<string, unknown>;
    } catch {
      // a malformed line counts as none
    }
  }
  return found;
}

/** The first number under a key (at any depth, depth-first) whose name matches `key`. */
export function findNumber(value: unknown, key: RegExp): number | undefined {
  if (!value || typeof value !== "object") return undefined;
  for (const [k, v] of Object.entries(value)) if (key.test(k) && typeof v === "number" && Number.isFinite(v)) return v;
  for (const v of Object.values(value)) {
    const n = findNumber(v, key);
    if (n !== undefined) return n;
  }
  return undefined;
}

/** One row of the summary: a figure, its value (undefined: not measured), its budget and whether it is met. */
export interface Row {
  figure: string;
  value?: string;
  budget: string;
  ok?: boolean;
}

const MiB = 2 ** 20;
const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Cost {
  requests: number;
  writes: number;
  ms: number;
}

function cost(json: Record<string, unknown> | undefined, key: string): Cost | undefined {
  const c = json?.[key] as Partial<Cost> | undefined;
  return c && typeof c.requests === "number" && typeof c.writes === "number" && typeof c.ms === "number"
    ? (c as Cost)
    : undefined;
}

/** The engine's rows, from bench:engine's BENCH_JSON. */
export function engineRows(json: Record<string, unknown> | undefined): Row[] {
  const perCluster = typeof json?.noopRequestsPerCluster === "number" ? json.noopRequestsPerCluster : undefined;
  const [first, noop, kFirst, kNoop] = ["first", "noop", "kubectlFirst", "kubectlNoop"].map((k) => cost(json, k));
  const speed = (a?: Cost, k?: Cost) => (a && k ? k.ms / a.ms : undefined);
  const noopSpeed = speed(noop, kNoop);
  const firstSpeed = speed(first, kFirst);
  const x = BUDGETS.speedupOverKubectl;
  return [
    {
      figure: "no-op requests per cluster",
      ...(perCluster !== undefined
        ? { value: perCluster.toFixed(1), ok: perCluster <= BUDGETS.noopRequestsPerCluster }
        : {}),
      budget: `≤ ${BUDGETS.noopRequestsPerCluster}`,
    },
    {
      figure: "first apply: requests vs writes",
      ...(first && noop
        ? {
            value: `${first.requests} for ${first.writes} writes`,
            ok: first.requests <= first.writes + noop.requests,
          }
        : {}),
      budget: noop ? `≤ writes + no-op (${noop.requests})` : "≤ writes + no-op",
    },
    {
      figure: "no-op vs kubectl",
      ...(noopSpeed !== undefined && noop && kNoop
        ? { value: `${noopSpeed.toFixed(1)}× (${secs(noop.ms)} vs ${secs(kNoop.ms)})`, ok: noopSpeed >= x }
        : {}),
      budget: `≥ ${x}× faster`,
    },
    {
      figure: "first apply vs kubectl",
      ...(firstSpeed !== undefined && first && kFirst
        ? { value: `${firstSpeed.toFixed(1)}× (${secs(first.ms)} vs ${secs(kFirst.ms)})`, ok: firstSpeed >= x }
        : {}),
      budget: `≥ ${x}× faster`,
    },
  ];
}

/** The daemon's figures, from its BENCH_JSON when it prints one, else from its text lines. */
export function daemonFigures(out: BenchOutput | undefined): {
  tickRequests?: number;
  repairMs?: number;
  rssBytes?: number;
  heapGrowthBytes?: number;
} {
  if (!out) return {};
  const j = out.json;
  const mibOrBytes = (mibKey: RegExp, bytesKey: RegExp) => {
    const b = findNumber(j, bytesKey);
    if (b !== undefined) return b;
    const m = findNumber(j, mibKey);
    return m === undefined ? undefined : m * MiB;
  };
  const figures = {
    tickRequests: findNumber(j, /^(steady)?(tick)?(api)?requests(per)?(steady)?tick$|^steadyTickRequests$/i),
    repairMs: findNumber(j, /^repair(latency)?ms$/i),
    rssBytes: mibOrBytes(/^rss(after.*)?mib$/i, /^rss(after.*)?bytes$/i),
    heapGrowthBytes: mibOrBytes(/^heap(growth|trend|delta)mib$/i, /^heap(growth|trend|delta)(bytes)?$/i),
  };
  // Text lines of bench:daemon without a BENCH_JSON line.
  const tick = /no-change tick \(drift check every tick[^)]*\):.*API (\d+) request/.exec(out.text);
  if (figures.tickRequests === undefined && tick) figures.tickRequests = Number(tick[1]);
  const mem =
    /memory after: rss ([\d.]+) MiB, heap used ([\d.]+) MiB \(before: rss [\d.]+ MiB, heap ([\d.]+) MiB\)/.exec(
      out.text,
    );
  if (figures.rssBytes === undefined && mem) figures.rssBytes = Number(mem[1]) * MiB;
  if (figures.heapGrowthBytes === undefined && mem) figures.heapGrowthBytes = (Number(mem[2]) - Number(mem[3])) * MiB;
  return Object.fromEntries(Object.entries(figures).filter(([, v]) => v !== undefined));
}

/** The daemon's rows. */
export function daemonRows(out: BenchOutput | undefined): Row[] {
  const f = daemonFigures(out);
  return [
    {
      figure: "daemon: API requests per steady tick",
      ...(f.tickRequests !== undefined
        ? { value: String(f.tickRequests), ok: f.tickRequests <= BUDGETS.steadyTickRequests }
        : {}),
      budget: `≤ ${BUDGETS.steadyTickRequests}`,
    },
    {
      figure: "daemon: repair latency",
      ...(f.repairMs !== undefined
        ? { value: `${f.repairMs.toFixed(0)} ms`, ok: f.repairMs < BUDGETS.repairLatencyMs }
        : {}),
      budget: `< ${BUDGETS.repairLatencyMs} ms`,
    },
    {
      figure: "daemon: RSS after 1,000 ticks",
      ...(f.rssBytes !== undefined ? { value: mib(f.rssBytes), ok: f.rssBytes < BUDGETS.daemonRssBytes } : {}),
      budget: `< ${mib(BUDGETS.daemonRssBytes)}`,
    },
    {
      figure: "daemon: heap over 1,000 ticks",
      ...(f.heapGrowthBytes !== undefined
        ? {
            value: `${f.heapGrowthBytes >= 0 ? "+" : ""}${(f.heapGrowthBytes / MiB).toFixed(1)} MiB`,
            ok: f.heapGrowthBytes < BUDGETS.heapGrowthBytes,
          }
        : {}),
      budget: `flat (< +${mib(BUDGETS.heapGrowthBytes)})`,
    },
  ];
}

interface PlannerSize {
  clusters: number;
  exports: number;
  load: { wallMs: number; cpuMs: number };
  firstPlan: { wallMs: number; cpuMs: number };
  peakRssBytes: number;
}

/** The planner's rows, one per size, from bench:planner's BENCH_JSON; the budget applies to the fleet size. */
export function plannerRows(json: Record<string, unknown> | undefined): Row[] {
  const sizes = (Array.isArray(json?.sizes) ? json.sizes : []) as PlannerSize[];
  const b = BUDGETS.planner;
  const rows: Row[] = sizes.map((s) => {
    const wall = s.load.wallMs + s.firstPlan.wallMs;
    const cpu = s.load.cpuMs + s.firstPlan.cpuMs;
    const fleet = s.clusters === b.clusters;
    return {
      figure: `planner: ${s.clusters} clusters, ${s.exports} exports`,
      value: `${secs(wall)} wall, ${secs(cpu)} CPU, ${mib(s.peakRssBytes)}`,
      budget: fleet ? `< ${secs(b.ms)} and < ${mib(b.rssBytes)}` : "— (growth)",
      ...(fleet ? { ok: wall < b.ms && s.peakRssBytes < b.rssBytes } : {}),
    };
  });
  if (!sizes.some((s) => s.clusters === b.clusters))
    rows.push({ figure: `planner: ${b.clusters} clusters`, budget: `< ${secs(b.ms)} and < ${mib(b.rssBytes)}` });
  return rows;
}

/** The summary table's text. */
export function table(rows: readonly Row[]): string {
  const w = [
    Math.max(6, ...rows.map((r) => r.figure.length)),
    Math.max(5, ...rows.map((r) => (r.value ?? "—").length)),
    Math.max(6, ...rows.map((r) => r.budget.length)),
  ] as const;
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(w[0])}  ${b.padEnd(w[1])}  ${c.padEnd(w[2])}  ${d}`;
  return [
    line("figure", "value", "budget", "mark"),
    ...rows.map((r) => line(r.figure, r.value ?? "—", r.budget, r.ok === undefined ? "—" : r.ok ? "pass" : "FAIL")),
  ].join("\n");
}

function runBench(name: string): Promise<BenchOutput> {
  const spec = BENCHES[name]!;
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), spec.script);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...spec.nodeArgs, script], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      text += chunk;
      process.stdout.write(chunk);
    });
    child.on("close", (code) => resolve({ text, code, ms: performance.now() - started, json: benchJson(text) }));
  });
}

async function main() {
  const { values } = parseArgs({ options: { benches: { type: "string", default: "planner,engine,daemon" } } });
  const names = values.benches.split(",").filter(Boolean);
  const unknown = names.filter((n) => !BENCHES[n]);
  if (unknown.length)
    throw new Error(`unknown bench(es): ${unknown.join(", ")} (known: ${Object.keys(BENCHES).join(", ")})`);
  const outputs = new Map<string, BenchOutput>();
  for (const name of names) {
    console.log(`\n=== bench:${name} ===`);
    const out = await runBench(name);
    outputs.set(name, out);
    console.log(`=== bench:${name}: exit ${out.code}, ${secs(out.ms)}${out.json ? "" : ", no BENCH_JSON line"} ===`);
  }
  const rows = [
    ...engineRows(outputs.get("engine")?.json),
    ...daemonRows(outputs.get("daemon")),
    ...plannerRows(outputs.get("planner")?.json),
  ];
  const total = [...outputs.values()].reduce((n, o) => n + o.ms, 0);
  console.log(`\nIssue 14 figures (one run, ${secs(total)}):\n${table(rows)}`);
  const failed = rows.some((r) => r.ok === false) || [...outputs.values()].some((o) => o.code !== 0);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
