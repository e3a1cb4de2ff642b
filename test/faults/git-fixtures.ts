/** Shared by the git fault tests: a served repository with an example topology, and the CLI run as a child process. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createRepo, ROOT, type TestRepo } from "../daemon/support.js";
import { startGitServer, type GitServer } from "../support/git-server.js";

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
    execFile(process.execPath, [path.join(ROOT, "bin", "crosslink.js"), ...args], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
