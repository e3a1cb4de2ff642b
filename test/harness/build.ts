// Builds the kube-harness Go binary (test/harness) into .cache/kube-harness, but
// only when its sources changed. The SHA-256 of test/harness/{*.go,go.mod,go.sum}
// is stored beside the binary in .cache/kube-harness.sha256.
//
// Run as `npm run harness`; tests call ensureHarnessBinary(). Concurrent callers
// (node --test runs files in parallel) serialise on a lock directory so only
// one `go build` runs at a time.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir, harnessBinary, harnessHashFile, harnessSourceDir } from "./paths.js";

export interface EnsureResult {
  /** Absolute path of the binary. */
  binary: string;
  /** "built" when go build ran, "up-to-date" when the stored hash matched. */
  action: "built" | "up-to-date";
  /** Source hash (hex). */
  hash: string;
  /** Wall time of the whole call in milliseconds. */
  ms: number;
}

export interface EnsureOptions {
  /** Rebuild even when the hash matches. */
  force?: boolean;
  /** Where go build's output goes; default: inherited stderr when `log` is set, else captured. */
  log?: (line: string) => void;
  /** Longest time to wait for another process's build, ms (default 30 min). */
  lockTimeoutMs?: number;
}

/** SHA-256 over the harness's Go sources (sorted *.go, go.mod, go.sum). */
export async function harnessSourceHash(): Promise<string> {
  const names = (await readdir(harnessSourceDir))
    .filter((n) => n.endsWith(".go") || n === "go.mod" || n === "go.sum")
    .sort();
  const h = createHash("sha256");
  for (const n of names) {
    h.update(`${n}\0`);
    h.update(await readFile(path.join(harnessSourceDir, n)));
    h.update("\0");
  }
  return h.digest("hex");
}

async function storedHash(): Promise<string | undefined> {
  try {
    if (!existsSync(harnessBinary)) return undefined;
    return (await readFile(harnessHashFile, "utf8")).trim();
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const lockDir = `${harnessBinary}.lock`;

async function withLock<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  await mkdir(cacheDir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(path.join(lockDir, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      // Stale lock: its owner is gone (or never wrote its pid within 10 s).
      const owner = Number((await readFile(path.join(lockDir, "pid"), "utf8").catch(() => "")) || 0);
      const age =
        Date.now() -
        (await stat(lockDir)
          .then((s) => s.mtimeMs)
          .catch(() => Date.now()));
      if ((owner > 0 && !pidAlive(owner)) || (owner === 0 && age > 10_000)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`kube-harness build: timed out waiting for the build lock ${lockDir} (held by pid ${owner})`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

function goBuild(out: string, log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("go", ["build", "-o", out, "."], {
      cwd: harnessSourceDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const onData = (b: Buffer): void => {
      const s = b.toString();
      output += s;
      if (output.length > 64_000) output = output.slice(-32_000);
      if (log) for (const line of s.split("\n")) if (line) log(line);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (e) => reject(new Error(`kube-harness build: cannot run go: ${e.message}`)));
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(new Error(`kube-harness build: go build failed (${signal ?? `exit ${code}`}):\n${output.slice(-4000)}`));
    });
  });
}

/**
 * Makes sure .cache/kube-harness exists and was built from the current sources;
 * runs `go build` only when the stored source hash differs (or `force`).
 */
export async function ensureHarnessBinary(opts: EnsureOptions = {}): Promise<EnsureResult> {
  const t0 = Date.now();
  const hash = await harnessSourceHash();
  if (!opts.force && (await storedHash()) === hash) {
    return { binary: harnessBinary, action: "up-to-date", hash, ms: Date.now() - t0 };
  }
  return withLock(opts.lockTimeoutMs ?? 30 * 60_000, async () => {
    // Another process may have built it while we waited for the lock.
    const current = await harnessSourceHash();
    if (!opts.force && (await storedHash()) === current) {
      return { binary: harnessBinary, action: "up-to-date" as const, hash: current, ms: Date.now() - t0 };
    }
    const tmp = `${harnessBinary}.tmp-${process.pid}`;
    try {
      await goBuild(tmp, opts.log);
      await rename(tmp, harnessBinary);
    } finally {
      await rm(tmp, { force: true });
    }
    await writeFile(harnessHashFile, `${current}\n`);
    return { binary: harnessBinary, action: "built" as const, hash: current, ms: Date.now() - t0 };
  });
}

async function main(): Promise<void> {
  const force = process.argv.includes("--force");
  console.log(`kube-harness: checking ${path.relative(process.cwd(), harnessSourceDir) || "."} …`);
  const r = await ensureHarnessBinary({ force, log: (l) => console.error(`  go: ${l}`) });
  const secs = (r.ms / 1000).toFixed(1);
  if (r.action === "built") {
    console.log(`kube-harness: built ${r.binary} in ${secs}s (sources ${r.hash.slice(0, 12)})`);
  } else {
    console.log(`kube-harness: up to date (${r.binary}, sources ${r.hash.slice(0, 12)}), checked in ${secs}s`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
