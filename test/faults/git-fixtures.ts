/** Shared by the git fault tests: a served repository with an example topology, and the CLI run as a child process. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createRepo, ROOT, type TestRepo } from "../daemon/support.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { waitFor } from "../support/wait.js";

/** A bare repository `mesh.git` with examples/podinfo-split under `mesh/`, served over smart HTTP on loopback. */
export interface ServedRepo {
  tmp: string;
  repo: TestRepo & { first: string };
  server: GitServer;
  url: string;
}

/** Creates and serves the repository (the example's own anchor, so every revision validates). */
export async function servedRepo(prefix: string, auth?: { username: string; password: string }): Promise<ServedRepo> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
  const anchor = readFileSync(path.join(ROOT, "examples", "podinfo-split", "anchors", "root.crt"), "utf8");
  const repo = createRepo(path.join(tmp, "repos"), "mesh", "podinfo-split", anchor);
  const server = await startGitServer({ root: path.join(tmp, "repos"), ...(auth ? { auth } : {}) });
  return { tmp, repo, server, url: `${server.url}/mesh.git` };
}

/** What a CLI child process printed, its exit code and its peak RSS (kB, from /proc VmHWM sampled until exit). */
export interface ChildRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bin/crosslink.js ARGS` as a child with `env` (bounded to 120 s). */
export function runCrosslink(args: string[], env: NodeJS.ProcessEnv): Promise<ChildRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin", "crosslink.js"), ...args],
      { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A `crosslink run` child process: its pid, base URL and a reader of its peak RSS. */
export interface DaemonChild {
  pid: number;
  url: string;
  /** Peak resident set size so far, in kB (VmHWM). */
  peakRssKb(): number;
  status(): Promise<DaemonStatusView>;
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and returns its output. */
  stop(): Promise<string>;
}

/** The fields of /status these tests read. */
export interface DaemonStatusView {
  revision: { head?: string; lastGood?: string; applied?: string };
  rejected?: { revision: string; reason: string; message: string };
  fetch: { ok?: boolean; code?: string; error?: string };
  [k: string]: unknown;
}

/** Starts `crosslink run ARGS --listen 127.0.0.1:0` and waits (≤ 30 s) for its "daemon started" line. */
export async function startDaemonChild(args: string[], env: NodeJS.ProcessEnv): Promise<DaemonChild> {
  const { spawn } = await import("node:child_process");
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "bin", "crosslink.js"),
      "run",
      "--webhook-listen",
      "127.0.0.1:0",
      "--metrics-listen",
      "127.0.0.1:0",
      "--status-detail",
      ...args,
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const deadline = Date.now() + 30_000;
  let url = "";
  while (!url) {
    const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
    if (m) url = m[1]!;
    else if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`daemon did not start: ${out.slice(0, 2000)}`);
    } else await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    pid,
    url,
    peakRssKb() {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return m ? Number(m[1]) : NaN;
    },
    async status() {
      return (await (await fetch(`${url}/status`)).json()) as DaemonStatusView;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(t);
      }
      return out;
    },
  };
}

/** Polls `fn` every 200 ms until it returns a truthy value; bounded by `timeoutMs`. */
export function until<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<NonNullable<T>> {
  return waitFor(what, fn, timeoutMs, 200);
}

/** A kubeconfig with no contexts: the daemon runs its source side and reports every cluster unreachable. */
export const EMPTY_KUBECONFIG =
  'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: ""\n';
