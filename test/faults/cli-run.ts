/**
 * Helpers of the fault and hostile-input suite: the CLI run as a separate
 * child process with a wall-clock limit, reporting its exit, wall time, CPU
 * time and peak RSS (measured inside the child), so bounds are checked on
 * the real program, not on micro-timings.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests run from dist/test/faults). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** What a CLI run did. `killed` means it outlived its limit and was stopped. */
export interface CliRun {
  code: number | null;
  killed: boolean;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** User + system CPU time of the child, in ms (undefined when it was killed). */
  cpuMs?: number;
  /** Peak resident set of the child, in MiB (undefined when it was killed). */
  maxRssMiB?: number;
}

// Runs crosslink's main in this process and prints its resource use to fd 3 at exit.
const WRAPPER = `
const { main } = await import(process.env.CROSSLINK_MAIN);
const { writeSync } = await import("node:fs");
process.on("exit", () => { const u = process.resourceUsage(); writeSync(3, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssMiB: u.maxRSS / 1024 })); });
process.exitCode = await main(process.argv.slice(1));
`;

/** Runs `crosslink ARGS` with `limitMs` of wall time (killed after), stdin closed unless given. */
export function runCli(
  args: string[],
  opts: { limitMs?: number; cwd?: string; stdin?: "ignore" | "pipe" | number } = {},
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", WRAPPER, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, CROSSLINK_MAIN: new URL("../../src/cli/main.js", import.meta.url).href },
      stdio: [opts.stdin ?? "ignore", "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let usage = "";
    let killed = false;
    child.stdout!.on("data", (d: Buffer) => (stdout.length < 1_000_000 ? (stdout += d) : undefined));
    child.stderr!.on("data", (d: Buffer) => (stderr.length < 1_000_000 ? (stderr += d) : undefined));
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => (usage += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, opts.limitMs ?? 120_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const r: CliRun = { code, killed, stdout, stderr, wallMs: Date.now() - started };
      try {
        Object.assign(r, JSON.parse(usage) as { cpuMs: number; maxRssMiB: number });
      } catch {
        // killed before it could report
      }
      resolve(r);
    });
  });
}

/** Prints a run's figures as a TAP comment (the figures of the closing note). */
export function logRun(what: string, r: CliRun): void {
  console.log(
    `${what}: exit ${r.code}${r.killed ? " (killed at the limit)" : ""}, wall ${r.wallMs} ms, cpu ${r.cpuMs?.toFixed(0) ?? "?"} ms, max RSS ${r.maxRssMiB?.toFixed(0) ?? "?"} MiB`,
  );
}

/** A one-line account of a run, for assertion messages and the figures in the report. */
export function describeRun(r: CliRun): string {
  return `exit ${r.code}${r.killed ? " (killed at the limit)" : ""}, wall ${r.wallMs} ms, cpu ${r.cpuMs?.toFixed(0) ?? "?"} ms, max RSS ${r.maxRssMiB?.toFixed(0) ?? "?"} MiB; stdout: ${r.stdout.slice(0, 300)}`;
}
