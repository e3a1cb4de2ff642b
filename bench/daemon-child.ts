/**
 * The daemon benchmark's measured process (bench/daemon.ts spawns it once per
 * mode): one daemon over an already converged fleet, its ticks timed, a hand
 * edit repaired, and process.memoryUsage() at three points. It imports only
 * crosslink's own modules and the fleet's description, as `crosslink run`
 * does, so its RSS is a daemon's (the parent's test harness and its
 * dependencies are not loaded here). Prints one line `CHILD_JSON {...}`.
 *
 * Usage (by bench/daemon.ts): node --expose-gc dist/bench/daemon-child.js --mode poll|watch --dir DIR
 *        --kubeconfig FILE --clusters N --services S --ticks T
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseRunConfig } from "../src/daemon/config.js";
import { createDaemon } from "../src/daemon/daemon.js";
import { createLogger } from "../src/daemon/log.js";
import { UNCHANGED_CEILING_MS } from "../src/daemon/loop.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../src/kube/access.js";
import type { KubeObject } from "../src/kube/object.js";
import { waitFor } from "../test/support/wait.js";
import { fleetNames, fleetTopology } from "./fleet.js";

const MiB = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

/** What one daemon run measured. */
export interface RunFigures {
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

/** One daemon in this process, over the converged fleet (`names`, `S` Services in each). */
async function child(
  names: string[],
  S: number,
  mode: "poll" | "watch",
  dir: string,
  kubeconfig: string,
  ticks: number,
): Promise<RunFigures> {
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

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "watch" },
    dir: { type: "string" },
    kubeconfig: { type: "string" },
    clusters: { type: "string", default: "10" },
    services: { type: "string", default: "2000" },
    ticks: { type: "string", default: "1000" },
  },
});
const figures = await child(
  fleetNames(Number(values.clusters)),
  Number(values.services),
  values.mode === "poll" ? "poll" : "watch",
  values.dir!,
  values.kubeconfig!,
  Number(values.ticks),
);
console.log(`CHILD_JSON ${JSON.stringify(figures)}`);
process.exit(0);
