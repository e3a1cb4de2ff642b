/**
 * Daemon benchmark: N harness clusters (default 10) × S exported Services in
 * each (default 2,000), links both ways around a ring, one split per cluster
 * (bench/fleet.ts). The fleet is converged once by the engine; then the
 * daemon runs in a child process per mode, `--observe poll` (before: every
 * tick re-reads the clusters; bounded to --poll-ticks and 120 s) and
 * `--observe watch` (after), each printing: API requests per steady tick,
 * for watch the repair of a hand edit (latency, writes), the time of the
 * ticks, heap used at five points and RSS at the end. In watch mode the
 * ticks with nothing changed are skipped as unchanged: the cost of a full
 * 0-change tick (observe + plan from the caches, forced by moving the
 * daemon's clock past the resync ceiling, 10 times) and of an unchanged
 * tick are printed apart, and the timed ticks count those that reconciled and
 * those skipped as unchanged. The clock is not moved during the timed ticks
 * (a clock hours ahead makes the link credentials look near expiry: rotated,
 * written) nor set back (the drift interval would skip every tick).
 * Ends with a line `BENCH_JSON {...}` holding every figure.
 *
 * Usage: npm run build && node --expose-gc dist/bench/daemon.js [--clusters 10] [--services 2000]
 *        [--ticks 1000] [--poll-ticks 50]
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseRunConfig } from "../src/daemon/config.js";
import { createDaemon } from "../src/daemon/daemon.js";
import { createLogger } from "../src/daemon/log.js";
import { UNCHANGED_CEILING_MS } from "../src/daemon/loop.js";
import { reconcile, reconcileOptions } from "../src/engine/reconcile.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../src/kube/access.js";
import type { KubeObject } from "../src/kube/object.js";
import { runningClusters, startClusters } from "../test/harness/driver.js";
import { waitFor } from "../test/daemon/support.js";
import { fleetNames, fleetTopology, fleetYaml, seedServices } from "./fleet.js";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "10" },
    services: { type: "string", default: "2000" },
    ticks: { type: "string", default: "1000" },
    "poll-ticks": { type: "string", default: "50" },
    modes: { type: "string", default: "poll,watch,watch-image" },
    keep: { type: "string" },
    child: { type: "string" },
    dir: { type: "string" },
    kubeconfig: { type: "string" },
  },
});
const N = Number(values.clusters);
const S = Number(values.services);
const names = fleetNames(N);
const MiB = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
/** The V8 flags the container image sets in NODE_OPTIONS. */
const IMAGE_NODE_FLAGS = ["--max-semi-space-size=1"];
/** Budget of the issue: RSS after 1,000 ticks with the fleet watched. */
const RSS_BUDGET_MIB = 150;

/** What one daemon run measured. */
interface RunFigures {
  mode: "poll" | "watch";
  /** V8 flags of the run (the image's NODE_OPTIONS for the last one). */
  nodeFlags?: string[];
  ticks: number;
  tickMs: number;
  /** Ticks of the timed run that observed and planned (the others were skipped as unchanged). */
  fullTicks?: number;
  /** Ticks of the timed run skipped as unchanged. */
  unchangedTicks?: number;
  /** A 0-change tick that observes and plans every cluster (forced past the resync ceiling). */
  fullTickMs?: number;
  /** Actions the forced full ticks planned (0: nothing had changed). */
  fullTickActions?: number;
  /** A tick skipped as unchanged (watch mode). */
  unchangedTickMs?: number;
  requestsPerTick: number;
  repairMs?: number;
  repairWrites?: number;
  heapMiB: { tick: number; heap: number }[];
  rssMiB: number;
  /** process.memoryUsage() in MiB after a GC: modules loaded, fleet converged, after the ticks (daemon still up). */
  memory?: Record<"loaded" | "converged" | "end", Record<string, number>>;
  watches?: number;
  cachedObjects?: number;
  /** Watch restarts and relists summed over every watch at the end (a change each: the next tick reconciles). */
  watchRestarts?: number;
  watchRelists?: number;
}

/** One daemon in this process, over the converged fleet. */
async function child(mode: "poll" | "watch", dir: string, kubeconfig: string, ticks: number): Promise<RunFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const usage = () => {
    gc?.();
    return Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, MiB(v)]));
  };
  const loaded = usage();
  const accesses: ClusterAccess[] = [];
  const requests = () => accesses.reduce((n, a) => n + a.totals().requests, 0);
  const writes = () => accesses.reduce((n, a) => n + a.totals().writes, 0);
  const cfg = parseRunConfig(
    [
      "--repo",
      path.join(dir, "repo"),
      "--webhook-listen",
      "127.0.0.1:0",
      "--metrics-listen",
      "127.0.0.1:0",
      "--kubeconfig",
      kubeconfig,
      "--cache-dir",
      path.join(dir, `cache-${mode}`),
      "--schedule",
      "0 0 1 1 *",
      "--drift-interval",
      "0",
      "--observe",
      mode,
    ],
    {},
  );
  if (cfg === "help") throw new Error("unreachable");
  const kc = loadKubeConfig(kubeconfig);
  // The daemon's clock: moved past the resync ceiling to force full ticks.
  let skewMs = 0;
  const d = await createDaemon(cfg, {
    clock: { now: () => new Date(Date.now() + skewMs) },
    log: createLogger("silent"),
    clients: (t) => {
      const a = clusterAccess(t, kc);
      accesses.push(a);
      return a;
    },
  });
  await d.start();
  await waitFor("the daemon converged", () => d.loop.status.revision.applied !== undefined, 600_000, 50);
  const idle = async () => {
    await waitFor("idle", () => !d.loop.busy, 60_000, 10);
    await new Promise((r) => setTimeout(r, 300));
    await waitFor("idle", () => !d.loop.busy, 60_000, 10);
  };
  await idle();

  // Full 0-change ticks: each past the resync ceiling, so it observes and plans every cluster.
  const steady = 10;
  const r0 = requests();
  const tFull = performance.now();
  let fullActions = 0;
  for (let i = 0; i < steady; i++) {
    skewMs += UNCHANGED_CEILING_MS;
    const r = await d.loop.tick("bench");
    if (!r.reconciled) throw new Error(`a tick past the resync ceiling did not reconcile: ${JSON.stringify(r.error)}`);
    fullActions += r.plan?.clusters.reduce((n, c) => n + c.actions.length, 0) ?? 0;
  }
  const fullTickMs = Math.round(((performance.now() - tFull) / steady) * 100) / 100;
  const requestsPerTick = (requests() - r0) / steady;
  const figures: RunFigures = {
    mode,
    ticks,
    tickMs: 0,
    fullTickMs,
    fullTickActions: fullActions,
    requestsPerTick,
    heapMiB: [],
    rssMiB: 0,
  };
  if (mode === "watch") {
    // Ticks with nothing changed (the clock still): skipped as unchanged.
    const n = 100;
    const tUnchanged = performance.now();
    for (let i = 0; i < n; i++)
      if ((await d.loop.tick("bench")).skipped !== "unchanged") throw new Error("an idle tick was not skipped");
    figures.unchangedTickMs = Math.round(((performance.now() - tUnchanged) / n) * 1000) / 1000;
  }
  if (mode === "watch") {
    // A hand edit of c0's HTTPRoute weights by another field manager, through a client of its own.
    const anchor = await readFile(path.join(dir, "repo", "anchor.crt"), "utf8");
    const editor = clusterAccess(await fleetTopology(names, S, anchor, 50), kc);
    try {
      const c0 = editor.clients.get("c0")!;
      const route = (
        await c0.list("gateway.networking.k8s.io/v1", "HTTPRoute", { namespace: "bench" })
      )[0] as KubeObject;
      type Rules = { backendRefs: { weight: number }[] }[];
      const weightsOf = (o: KubeObject | undefined) =>
        JSON.stringify((o?.spec as { rules: Rules } | undefined)?.rules[0]?.backendRefs.map((b) => b.weight));
      const want = weightsOf(route);
      const rules = structuredClone((route.spec as { rules: Rules }).rules);
      rules[0]!.backendRefs[0]!.weight = 99;
      rules[0]!.backendRefs[1]!.weight = 1;
      const ref = {
        apiVersion: route.apiVersion,
        kind: route.kind,
        namespace: route.metadata.namespace!,
        name: route.metadata.name,
      };
      const w0 = writes();
      const t0 = performance.now();
      await c0.patch(ref, { spec: { rules } }, { fieldManager: "kubectl-edit" });
      await waitFor("the hand edit repaired", async () => weightsOf(await c0.get(ref)) === want, 30_000, 10);
      figures.repairMs = Math.round(performance.now() - t0);
      await idle();
      figures.repairWrites = writes() - w0;
    } finally {
      editor.close();
    }
    const status = (await (await fetch(`${d.url()}/status`)).json()) as { watches?: { objects: number }[] };
    const list = status.watches ?? [];
    figures.watches = list.length;
    figures.cachedObjects = list.reduce((n, w) => n + w.objects, 0);
  }

  const converged = usage();
  const heap = (tick: number) => {
    gc?.();
    figures.heapMiB.push({ tick, heap: MiB(process.memoryUsage().heapUsed) });
  };
  heap(0);
  const t0 = performance.now();
  const deadline = Date.now() + (mode === "poll" ? 90_000 : 1_800_000);
  let done = 0;
  let full = 0;
  let unchanged = 0;
  for (let i = 1; i <= ticks && Date.now() < deadline; i++) {
    const r = await d.loop.tick("bench");
    if (r.reconciled) full++;
    if (r.skipped === "unchanged") unchanged++;
    done = i;
    if (i % Math.max(1, Math.floor(ticks / 4)) === 0) heap(i);
  }
  figures.ticks = done;
  figures.fullTicks = full;
  figures.unchangedTicks = unchanged;
  if (mode === "watch") {
    const list =
      ((await (await fetch(`${d.url()}/status`)).json()) as { watches?: { restarts: number; relists: number }[] })
        .watches ?? [];
    figures.watchRestarts = list.reduce((n, w) => n + w.restarts, 0);
    figures.watchRelists = list.reduce((n, w) => n + w.relists, 0);
  }
  figures.tickMs = Math.round(((performance.now() - t0) / Math.max(1, done)) * 100) / 100;
  if (figures.heapMiB.at(-1)?.tick !== done) heap(done);
  figures.rssMiB = MiB(process.memoryUsage().rss);
  figures.memory = { loaded, converged, end: usage() };
  await d.stop();
  return figures;
}

/** Runs one mode in a child process (its RSS is the daemon's alone), bounded in time. */
function runChild(
  mode: "poll" | "watch",
  dir: string,
  kubeconfig: string,
  ticks: number,
  limitMs: number,
  nodeFlags: string[] = [],
) {
  return new Promise<RunFigures>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        "--expose-gc",
        ...nodeFlags,
        fileURLToPath(import.meta.url),
        "--child",
        mode,
        "--dir",
        dir,
        "--kubeconfig",
        kubeconfig,
        "--clusters",
        String(N),
        "--services",
        String(S),
        "--ticks",
        String(ticks),
      ],
      { stdio: ["ignore", "pipe", "inherit"], timeout: limitMs, killSignal: "SIGKILL" },
    );
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.on("close", (code, signal) => {
      const line = out.split("\n").find((l) => l.startsWith("CHILD_JSON "));
      if (line) resolve(JSON.parse(line.slice("CHILD_JSON ".length)) as RunFigures);
      else reject(new Error(`${mode} run ended with ${signal ?? code} and no figures:\n${out}`));
    });
  });
}

function print(f: RunFigures): void {
  console.log(
    `${(f.mode + (f.nodeFlags?.length ? "*" : "")).padEnd(6)} ${String(f.requestsPerTick).padStart(9)} req/tick  ${String(f.ticks).padStart(5)} ticks  ${f.tickMs
      .toFixed(1)
      .padStart(
        7,
      )} ms/tick (${f.fullTicks ?? "?"} full, ${f.unchangedTicks ?? "?"} unchanged)  full 0-change tick ${f.fullTickMs ?? "?"} ms (${f.fullTickActions ?? "?"} actions in 10)${f.unchangedTickMs !== undefined ? `, unchanged tick ${f.unchangedTickMs} ms` : ""}  RSS ${f.rssMiB.toFixed(1).padStart(6)} MiB  heap ${f.heapMiB.map((h) => `${h.heap}@${h.tick}`).join(" ")}` +
      (f.repairMs !== undefined ? `  hand edit repaired in ${f.repairMs} ms with ${f.repairWrites} write(s)` : "") +
      (f.watches !== undefined ? `  ${f.watches} watches, ${f.cachedObjects} cached objects` : "") +
      (f.watchRestarts !== undefined ? `, ${f.watchRestarts} watch restarts, ${f.watchRelists} relists` : "") +
      (f.memory ? `  memory MiB ${JSON.stringify(f.memory)}` : ""),
  );
}

async function main(): Promise<void> {
  const ticks = Number(values.ticks);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-bench-daemon-"));
  const t0 = performance.now();
  // --keep DIR: clusters detached in DIR, seeded and converged once, reused by later runs (stop them with
  // `npm run clusters -- down --dir DIR`); without it, fresh clusters stopped at the end.
  const keep = values.keep ? path.resolve(values.keep) : undefined;
  const ready = keep ? path.join(keep, `fleet-${N}x${S}.ready`) : undefined;
  const reused = keep && ready && (await runningClusters(keep)).length === N && existsSync(ready);
  const clusters: { kubeconfigPath: string; trustAnchorPem: string; stop(): Promise<unknown> } = reused
    ? {
        kubeconfigPath: path.join(keep, "kubeconfig"),
        trustAnchorPem: await readFile(ready, "utf8"),
        stop: async () => {},
      }
    : await startClusters(names, { log: () => {}, ...(keep ? { dir: keep, detached: true } : {}) });
  try {
    if (!reused) {
      const topology = await fleetTopology(names, S, clusters.trustAnchorPem, 50);
      const acc = clusterAccess(topology, loadKubeConfig(clusters.kubeconfigPath));
      try {
        await seedServices(acc.clients.values(), S);
        const tSeed = performance.now();
        const first = await reconcile(topology, acc.clients, reconcileOptions(), () => true);
        const converged = first.changes?.clusters.every((c) => c.converged) ?? true;
        console.log(
          `${N} clusters × ${S} exported Services: started and seeded in ${((tSeed - t0) / 1000).toFixed(1)} s; first apply ${((performance.now() - tSeed) / 1000).toFixed(1)} s${converged ? "" : " (NOT converged)"}`,
        );
      } finally {
        acc.close();
      }
      if (ready) await writeFile(ready, clusters.trustAnchorPem);
    } else console.log(`${N} clusters × ${S} exported Services: reusing the converged fleet in ${keep}`);
    const repo = path.join(tmp, "repo");
    await mkdir(repo, { recursive: true });
    await writeFile(path.join(repo, "multicluster.yaml"), fleetYaml(names, S, 50));
    await writeFile(path.join(repo, "anchor.crt"), clusters.trustAnchorPem);

    const modes = new Set(values.modes.split(","));
    const skipped = (mode: "poll" | "watch"): RunFigures => ({
      mode,
      ticks: 0,
      tickMs: 0,
      requestsPerTick: NaN,
      heapMiB: [],
      rssMiB: NaN,
    });
    const poll = modes.has("poll")
      ? await runChild("poll", tmp, clusters.kubeconfigPath, Number(values["poll-ticks"]), 120_000)
      : skipped("poll");
    if (modes.has("poll")) print(poll);
    const watchDefault = modes.has("watch")
      ? await runChild("watch", tmp, clusters.kubeconfigPath, ticks, 1_900_000)
      : skipped("watch");
    if (modes.has("watch")) print(watchDefault);
    // As the image runs it (Dockerfile NODE_OPTIONS): a 1 MiB young generation, ~30 MiB less RSS at rest.
    const watch = {
      ...(await runChild("watch", tmp, clusters.kubeconfigPath, ticks, 1_900_000, IMAGE_NODE_FLAGS)),
      nodeFlags: IMAGE_NODE_FLAGS,
    };
    print(watch);
    const heaps = watch.heapMiB.map((h) => h.heap);
    const heapGrowth = Math.round((heaps.at(-1)! - heaps[1]!) * 10) / 10;
    console.log(
      `watch (${IMAGE_NODE_FLAGS.join(" ")}): RSS ${watch.rssMiB} MiB after ${watch.ticks} ticks (budget < ${RSS_BUDGET_MIB} MiB: ${watch.rssMiB < RSS_BUDGET_MIB ? "met" : "NOT met"}); heap from tick ${watch.heapMiB[1]?.tick} to ${watch.ticks}: ${heapGrowth >= 0 ? "+" : ""}${heapGrowth} MiB; requests per steady tick ${poll.requestsPerTick} (poll) → ${watch.requestsPerTick} (watch)`,
    );
    console.log(
      `BENCH_JSON ${JSON.stringify({
        bench: "daemon",
        clusters: N,
        servicesPerCluster: S,
        exports: N * S,
        // Flat figures of the watch run (as the image runs it), read by bench:scale before any nested key.
        steadyTickRequests: watch.requestsPerTick,
        rssAfterTicksMiB: watch.rssMiB,
        ticks: watch.ticks,
        fullTicks: watch.fullTicks,
        fullTickMs: watch.fullTickMs,
        unchangedTickMs: watch.unchangedTickMs,
        poll,
        watchDefaultFlags: watchDefault,
        watch,
        requestsPerSteadyTick: { poll: poll.requestsPerTick, watch: watch.requestsPerTick },
        repairMs: watch.repairMs,
        repairWrites: watch.repairWrites,
        rssMiB: { poll: poll.rssMiB, watch: watch.rssMiB, budget: RSS_BUDGET_MIB },
        heapGrowthMiB: heapGrowth,
      })}`,
    );
  } finally {
    if (!keep) await clusters.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

if (values.child) {
  const mode = values.child === "poll" ? "poll" : "watch";
  const figures = await child(mode, values.dir!, values.kubeconfig!, Number(values.ticks));
  console.log(`CHILD_JSON ${JSON.stringify(figures)}`);
  process.exit(0);
} else await main();
