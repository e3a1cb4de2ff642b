// Starts named kube-harness clusters on loopback, merges their kubeconfigs,
// makes a shared trust anchor and seeds each cluster (seed.ts).
//
// Non-detached (tests): each child gets --exit-on-stdin-eof and a stdin pipe, so
// it stops when this process dies however it dies; exit/SIGINT/SIGTERM handlers
// also signal them. Detached (CLI `up`): children outlive this process and
// DIR/clusters.json records them for `down`.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { ensureHarnessBinary } from "./build.js";
import { kubeConfigFor } from "./kube.js";
import { createTrustAnchor, type CertKeyPair } from "./pki.js";
import { seedCluster, type SeedOptions, type SeedResult } from "./seed.js";

export interface ClusterInfo {
  name: string;
  server: string;
  port: number;
  pid: number;
  /** The cluster's own directory (DIR/<name>). */
  dir: string;
  /** The cluster's own kubeconfig (one context). */
  kubeconfig: string;
  /** Harness log (stderr of the process). */
  log: string;
}

/** The RSA key a cluster's kube-apiserver signs ServiceAccount tokens with (pki/sa.key, PKCS#1 PEM; main.go writes it). */
export function serviceAccountKeyPath(cluster: ClusterInfo): string {
  return path.join(cluster.dir, "pki", "sa.key");
}

export type SeedSetting = boolean | SeedOptions | ((name: string, index: number) => SeedOptions | false);

export interface StartOptions {
  /** State directory; default a fresh mkdtemp dir (removed by stop()). */
  dir?: string;
  /** Seed each cluster (default true). Per-cluster options via a function. */
  seed?: SeedSetting;
  /** Children outlive this process (CLI); DIR/clusters.json records them. */
  detached?: boolean;
  /** Trust anchor to write and seed with (default: a fresh one). */
  trustAnchor?: CertKeyPair;
  /** Fixed API server ports, one per name (default: free ones picked per start). */
  ports?: number[];
  /** Bound on each cluster's start, ms (default 150000; the harness itself gives up after 120 s). */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags for every cluster, e.g. `--max-requests-inflight=1` (they win over the harness's defaults). */
  apiServerArgs?: string[];
  /** Progress output (default: console.error); pass () => {} for silence. */
  log?: (msg: string) => void;
}

export interface StartedClusters {
  dir: string;
  kubeconfigPath: string;
  clusters: ClusterInfo[];
  trustAnchor: CertKeyPair;
  trustAnchorPem: string;
  trustAnchorPath: string;
  seeds: Record<string, SeedResult>;
  /** Wall time of startClusters, ms. */
  ms: number;
  /** A KubeConfig for one cluster (context = name) from the merged kubeconfig. */
  kubeConfig(name: string): KubeConfig;
  /** SIGTERM, bounded wait, SIGKILL stragglers; removes the dir if the driver made it. */
  stop(): Promise<void>;
}

/** DIR/clusters.json, written for detached clusters. */
export interface ClustersFile {
  dir: string;
  kubeconfig: string;
  trustAnchor: string;
  startedAt: string;
  ms: number;
  clusters: ClusterInfo[];
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// ---- child bookkeeping for non-detached clusters -------------------------------

const liveChildren = new Set<ChildProcess>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const killAll = (sig: NodeJS.Signals) => {
    for (const c of liveChildren) {
      try {
        c.kill(sig);
      } catch {
        /* already gone */
      }
    }
  };
  process.on("exit", () => killAll("SIGKILL"));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const handler = () => {
      killAll("SIGTERM");
      // Restore the default disposition unless someone else is listening, then re-raise.
      process.removeListener(sig, handler);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

// ---- helpers -----------------------------------------------------------------

/** Distinct free loopback ports: all listeners are held open together, then closed. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie (exited, not yet reaped) still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true;
  }
}

/** True when `pid` is a kube-harness process whose --dir is `clusterDir` (guards against pid reuse). */
export function isHarnessProcess(pid: number, clusterDir?: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (!argv[0] || !path.basename(argv[0]).startsWith("kube-harness")) return false;
    if (!clusterDir) return true;
    const i = argv.indexOf("--dir");
    return i >= 0 && path.resolve(argv[i + 1] ?? "") === path.resolve(clusterDir);
  } catch {
    return false;
  }
}

/** Pids of running kube-harness processes whose --dir lies under `dir` (from /proc). */
export function harnessPidsUnder(dir: string): number[] {
  const root = path.resolve(dir) + path.sep;
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!argv[0] || !path.basename(argv[0]).startsWith("kube-harness")) continue;
      const i = argv.indexOf("--dir");
      const d = i >= 0 ? path.resolve(argv[i + 1] ?? "") + path.sep : "";
      if (d.startsWith(root) && pidAlive(pid)) out.push(pid);
    } catch {
      /* raced with exit */
    }
  }
  return out;
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    return text
      .split("\n")
      .slice(-lines - 1)
      .join("\n");
  } catch {
    return "(no log)";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ReadyFile {
  name: string;
  server: string;
  port: number;
  pid: number;
  kubeconfig: string;
  startedMs: number;
}

interface Kubeconfig {
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: Record<string, unknown> }[];
  "current-context"?: string;
}

/** Merges per-cluster kubeconfigs (one context each, named after the cluster) into one document. */
export async function mergeKubeconfigs(files: string[], currentContext?: string): Promise<string> {
  const merged: Required<Kubeconfig> & { apiVersion: string; kind: string; preferences: object } = {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [],
    users: [],
    contexts: [],
    "current-context": currentContext ?? "",
  };
  for (const f of files) {
    const kc = parse(await readFile(f, "utf8")) as Kubeconfig;
    merged.clusters.push(...(kc.clusters ?? []));
    merged.users.push(...(kc.users ?? []));
    merged.contexts.push(...(kc.contexts ?? []));
    if (!merged["current-context"]) merged["current-context"] = kc["current-context"] ?? "";
  }
  return stringify(merged, { lineWidth: 0 });
}

// ---- start / stop ---------------------------------------------------------------

interface Started {
  info: ClusterInfo;
  child: ChildProcess;
  exited: Promise<void>;
}

async function startOne(
  binary: string,
  name: string,
  dir: string,
  port: number,
  detached: boolean,
  timeoutMs: number,
  apiServerArgs: readonly string[],
): Promise<Started> {
  const cdir = path.join(dir, name);
  // A fresh control plane each time: new PKI, empty etcd.
  await rm(cdir, { recursive: true, force: true });
  await mkdir(cdir, { recursive: true, mode: 0o700 });
  const log = path.join(cdir, "harness.log");
  const fd = openSync(log, "a");
  const args = [
    "--dir",
    cdir,
    "--name",
    name,
    "--port",
    String(port),
    ...apiServerArgs.map((a) => `--apiserver-arg=${a}`),
  ];
  let child: ChildProcess;
  try {
    child = detached
      ? spawn(binary, args, { detached: true, stdio: ["ignore", fd, fd] })
      : spawn(binary, [...args, "--exit-on-stdin-eof"], { stdio: ["pipe", fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      liveChildren.delete(child);
      resolve();
    });
    child.once("error", (e) => {
      exitInfo = `spawn error: ${e.message}`;
      liveChildren.delete(child);
      resolve();
    });
  });
  if (detached) {
    child.unref();
  } else {
    liveChildren.add(child);
    installExitHandlers();
    // Let this process exit without waiting for the child; the stdin pipe closing then stops it.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  const readyPath = path.join(cdir, "ready.json");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitInfo) {
      throw new Error(`kube-harness ${name} exited before it was ready (${exitInfo}); ${log}:\n${await tail(log)}`);
    }
    if (existsSync(readyPath)) {
      try {
        const r = JSON.parse(await readFile(readyPath, "utf8")) as ReadyFile;
        return {
          info: { name, server: r.server, port: r.port, pid: r.pid, dir: cdir, kubeconfig: r.kubeconfig, log },
          child,
          exited,
        };
      } catch {
        /* partially visible; retry */
      }
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`kube-harness ${name} not ready after ${timeoutMs}ms; ${log}:\n${await tail(log)}`);
    }
    await sleep(50);
  }
}

/** Signals pids, waits up to `graceMs`, SIGKILLs what is left, waits again (bounded). */
export async function terminatePids(pids: number[], graceMs = 10_000): Promise<{ killed: number[] }> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  const waitGone = async (ms: number) => {
    const end = Date.now() + ms;
    while (pids.some(pidAlive) && Date.now() < end) await sleep(50);
  };
  await waitGone(graceMs);
  const killed = pids.filter(pidAlive);
  for (const pid of killed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  await waitGone(5_000);
  return { killed };
}

function resolveSeed(seed: SeedSetting | undefined, name: string, index: number): SeedOptions | false {
  if (seed === undefined || seed === true) return {};
  if (seed === false) return false;
  if (typeof seed === "function") return seed(name, index);
  return seed;
}

/** Starts `names` in parallel, merges kubeconfigs, writes the trust anchor, seeds. */
export async function startClusters(names: string[], opts: StartOptions = {}): Promise<StartedClusters> {
  const t0 = Date.now();
  const log = opts.log ?? ((m: string) => console.error(m));
  if (names.length === 0) throw new Error("startClusters: no cluster names");
  for (const n of names) {
    if (!NAME_RE.test(n) || n.length > 40)
      throw new Error(`startClusters: invalid cluster name ${JSON.stringify(n)} (DNS label)`);
  }
  if (new Set(names).size !== names.length) throw new Error(`startClusters: duplicate names in ${names.join(", ")}`);

  const { binary } = await ensureHarnessBinary({ log: (l) => log(`  go: ${l}`) });
  const ownDir = !opts.dir;
  const dir = path.resolve(opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), "crosslink-clusters-"))));
  await mkdir(dir, { recursive: true });
  const detached = opts.detached ?? false;
  const timeoutMs = opts.readyTimeoutMs ?? 150_000;

  const started: Started[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const pids = started.map((s) => s.info.pid).filter((p) => pidAlive(p));
    if (!detached) {
      // Closing stdin alone would stop them; SIGTERM is faster and explicit.
      for (const s of started) s.child.stdin?.destroy();
    }
    await terminatePids(pids);
    if (!detached) {
      await Promise.race([Promise.all(started.map((s) => s.exited)), sleep(5_000)]);
    }
    if (ownDir) await rm(dir, { recursive: true, force: true });
    else if (detached) await rm(path.join(dir, "clusters.json"), { force: true });
  };

  try {
    if (opts.ports && opts.ports.length !== names.length)
      throw new Error("startClusters: ports must have one entry per name");
    const ports = opts.ports ?? (await freePorts(names.length));
    const anchorP = opts.trustAnchor ? Promise.resolve(opts.trustAnchor) : createTrustAnchor();
    const results = await Promise.allSettled(
      names.map(async (n, i) => {
        // The port was free when picked; if something took it before the API
        // server bound it, try again with a new one.
        for (let attempt = 0; ; attempt++) {
          try {
            const s = await startOne(
              binary,
              n,
              dir,
              attempt === 0 ? ports[i]! : (await freePorts(1))[0]!,
              detached,
              timeoutMs,
              opts.apiServerArgs ?? [],
            );
            started.push(s);
            return s;
          } catch (e) {
            if (opts.ports || attempt >= 2 || !(e instanceof Error) || !/address already in use/.test(e.message))
              throw e;
            log(`kube-harness ${n}: port taken, retrying`);
          }
        }
      }),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length)
      throw new Error(failed.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join("\n"));
    started.sort((a, b) => names.indexOf(a.info.name) - names.indexOf(b.info.name));
    const clusters = started.map((s) => s.info);
    const tReady = Date.now();

    const kubeconfigPath = path.join(dir, "kubeconfig");
    await writeFile(
      kubeconfigPath,
      await mergeKubeconfigs(
        clusters.map((c) => c.kubeconfig),
        names[0],
      ),
      { mode: 0o600 },
    );
    await chmod(kubeconfigPath, 0o600);
    const trustAnchor = await anchorP;
    const trustAnchorPath = path.join(dir, "trust-anchor.crt");
    await writeFile(trustAnchorPath, trustAnchor.certPem, { mode: 0o644 });
    await writeFile(path.join(dir, "trust-anchor.key"), trustAnchor.keyPem, { mode: 0o600 });
    await chmod(path.join(dir, "trust-anchor.key"), 0o600);

    const kubeConfig = (name: string) => kubeConfigFor(kubeconfigPath, name);
    const seeds: Record<string, SeedResult> = {};
    await Promise.all(
      names.map(async (name, index) => {
        const so = resolveSeed(opts.seed, name, index);
        if (so === false) return;
        seeds[name] = await seedCluster(kubeConfig(name), { clusterName: name, index, trustAnchor, ...so });
      }),
    );
    const ms = Date.now() - t0;
    const seeded = Object.keys(seeds).length;
    log(
      `${names.length} cluster${names.length === 1 ? "" : "s"} ready in ${(ms / 1000).toFixed(1)}s ` +
        `(api servers ${((tReady - t0) / 1000).toFixed(1)}s, ${seeded ? `${seeded} seeded` : "bare"}): ${names.join(", ")}`,
    );

    if (detached) {
      const file: ClustersFile = {
        dir,
        kubeconfig: kubeconfigPath,
        trustAnchor: trustAnchorPath,
        startedAt: new Date().toISOString(),
        ms,
        clusters,
      };
      await writeFile(path.join(dir, "clusters.json"), JSON.stringify(file, null, 2) + "\n");
    }
    return {
      dir,
      kubeconfigPath,
      clusters,
      trustAnchor,
      trustAnchorPem: trustAnchor.certPem,
      trustAnchorPath,
      seeds,
      ms,
      kubeConfig,
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

/** Reads DIR/clusters.json, or undefined when there is none. */
export async function readClustersFile(dir: string): Promise<ClustersFile | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, "clusters.json"), "utf8")) as ClustersFile;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Running harness processes recorded in DIR/clusters.json (verified against /proc). */
export async function runningClusters(dir: string): Promise<ClusterInfo[]> {
  const f = await readClustersFile(dir);
  return (f?.clusters ?? []).filter((c) => pidAlive(c.pid) && isHarnessProcess(c.pid, c.dir));
}

/**
 * Stops the detached clusters in DIR (clusters.json plus any kube-harness whose
 * --dir is under DIR), removes their state except logs, the merged kubeconfig
 * and clusters.json. Returns the names stopped.
 */
export async function stopClusters(dir: string, graceMs = 10_000): Promise<{ stopped: string[]; killed: number[] }> {
  dir = path.resolve(dir);
  const f = await readClustersFile(dir);
  const recorded = (f?.clusters ?? []).filter((c) => pidAlive(c.pid) && isHarnessProcess(c.pid, c.dir));
  const pids = new Set([...recorded.map((c) => c.pid), ...harnessPidsUnder(dir)]);
  const { killed } = await terminatePids([...pids], graceMs);
  for (const c of f?.clusters ?? []) {
    for (const sub of ["etcd", "pki", "ready.json", "kubeconfig"])
      await rm(path.join(c.dir, sub), { recursive: true, force: true });
  }
  await rm(path.join(dir, "clusters.json"), { force: true });
  await rm(path.join(dir, "kubeconfig"), { force: true });
  return { stopped: recorded.map((c) => c.name), killed };
}
