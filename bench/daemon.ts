/**
 * Daemon benchmark: N harness clusters (default 10) × S exported Services in
 * each (default 2,000), links both ways around a ring, one split per cluster
 * (bench/fleet.ts). The fleet is converged once by the engine; then the
 * daemon runs in a child process per mode (bench/daemon-child.ts, which loads only
 * crosslink's modules, as `crosslink run` does), `--observe poll` (before: every
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
import { reconcile, reconcileOptions } from "../src/engine/reconcile.js";
import { clusterAccess, loadKubeConfig } from "../src/kube/access.js";
import { runningClusters, startClusters } from "../test/harness/driver.js";
import { imageSpec } from "../test/support/dockerfile.js";
import type { RunFigures } from "./daemon-child.js";
import { fleetNames, fleetTopology, fleetYaml, seedServices } from "./fleet.js";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "10" },
    services: { type: "string", default: "2000" },
    ticks: { type: "string", default: "1000" },
    "poll-ticks": { type: "string", default: "50" },
    modes: { type: "string", default: "poll,watch,watch-image" },
    keep: { type: "string" },
  },
});
const N = Number(values.clusters);
const S = Number(values.services);
const names = fleetNames(N);
/** How the container image runs node: the Dockerfile's NODE_OPTIONS and glibc MALLOC_* tunables. */
interface ImageRuntime {
  nodeFlags: string[];
  env: Record<string, string>;
}

async function imageRuntime(): Promise<ImageRuntime> {
  const { env } = await imageSpec(fileURLToPath(new URL("../..", import.meta.url)));
  return {
    nodeFlags: (env.NODE_OPTIONS ?? "").split(/\s+/).filter(Boolean),
    env: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("MALLOC_"))),
  };
}

/** Budget of the issue: RSS after 1,000 ticks with the fleet watched. */
const RSS_BUDGET_MIB = 150;

/** Runs one mode in a child process (its RSS is the daemon's alone), bounded in time. */
function runChild(
  mode: "poll" | "watch",
  dir: string,
  kubeconfig: string,
  ticks: number,
  limitMs: number,
  image?: ImageRuntime,
) {
  return new Promise<RunFigures>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        "--expose-gc",
        ...(image?.nodeFlags ?? []),
        fileURLToPath(new URL("./daemon-child.js", import.meta.url)),
        "--mode",
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
      {
        stdio: ["ignore", "pipe", "inherit"],
        timeout: limitMs,
        killSignal: "SIGKILL",
        env: { ...process.env, ...image?.env },
      },
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
    // As the image runs it (the Dockerfile's NODE_OPTIONS and MALLOC_* tunables).
    const image = await imageRuntime();
    const watch = {
      ...(await runChild("watch", tmp, clusters.kubeconfigPath, ticks, 1_900_000, image)),
      nodeFlags: [...image.nodeFlags, ...Object.entries(image.env).map(([k, v]) => `${k}=${v}`)],
    };
    print(watch);
    const heaps = watch.heapMiB.map((h) => h.heap);
    const heapGrowth = Math.round((heaps.at(-1)! - heaps[1]!) * 10) / 10;
    console.log(
      `watch (image: ${watch.nodeFlags.join(" ")}): RSS ${watch.rssMiB} MiB after ${watch.ticks} ticks (budget < ${RSS_BUDGET_MIB} MiB: ${watch.rssMiB < RSS_BUDGET_MIB ? "met" : "NOT met"}); heap from tick ${watch.heapMiB[1]?.tick} to ${watch.ticks}: ${heapGrowth >= 0 ? "+" : ""}${heapGrowth} MiB; requests per steady tick ${poll.requestsPerTick} (poll) → ${watch.requestsPerTick} (watch)`,
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

await main();
