/**
 * One of Linkerd's binaries run as a child process for a conformance test:
 * stdout and stderr captured line by line, waitable, stoppable. Linkerd's
 * controllers resolve cluster DNS names (the mirror controller probes
 * `probe-<link>.<ns>.svc.cluster.local`); where `unshare -m` works the process
 * gets a private /etc/resolv.conf naming 127.0.0.1 so those lookups stay on
 * loopback and fail fast.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

/** A running (or exited) Linkerd binary. */
export interface LinkerdProcess {
  readonly pid: number | undefined;
  /** Every line written so far, stdout and stderr interleaved. */
  readonly lines: string[];
  /** When each line arrived (Date.now()), index for index with `lines`. */
  readonly times: number[];
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** The first line matching `re` at index `from` or later, waiting up to `ms`. */
  waitLine(re: RegExp, ms: number, from?: number): Promise<string>;
  /** Lines matching `re` at index `from` or later. */
  matching(re: RegExp, from?: number): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
let loopbackDns: string | null | undefined;

/** The resolv.conf to bind over /etc/resolv.conf, or null when this machine cannot (no `unshare -m`). */
function loopbackResolvConf(): string | null {
  if (loopbackDns !== undefined) return loopbackDns;
  const file = path.join(os.tmpdir(), `crosslink-loopback-resolv-${process.pid}.conf`);
  writeFileSync(file, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
  const probe = spawnSync(
    "unshare",
    ["-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && grep -q 127.0.0.1 /etc/resolv.conf', file],
    { timeout: 10_000 },
  );
  loopbackDns = probe.status === 0 ? file : null;
  process.once("exit", () => rmSync(file, { force: true }));
  return loopbackDns;
}

/** Starts `binary args…` with `env` added to this process's environment. */
export function startLinkerdProcess(binary: string, args: string[], env: Record<string, string> = {}): LinkerdProcess {
  const resolv = loopbackResolvConf();
  const [cmd, argv] = resolv
    ? ["unshare", ["-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv, binary, ...args]]
    : [binary, args];
  const child = spawn(cmd, argv as string[], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  const lines: string[] = [];
  const times: number[] = [];
  const waiters: { re: RegExp; from: number; resolve: (l: string) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    times.push(Date.now());
    for (const w of [...waiters]) {
      if (lines.length - 1 >= w.from && w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout! }).on("line", onLine);
  createInterface({ input: child.stderr! }).on("line", onLine);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      live.delete(child);
      resolve(code);
    });
    child.once("error", (e) => {
      lines.push(`spawn error: ${e.message}`);
      live.delete(child);
      resolve(-1);
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    pid: child.pid,
    lines,
    times,
    exited,
    matching: (re, from = 0) => lines.slice(from).filter((l) => re.test(l)),
    waitLine: (re, ms, from = 0) =>
      new Promise<string>((resolve, reject) => {
        const hit = lines.slice(from).find((l) => re.test(l));
        if (hit) return resolve(hit);
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(
            new Error(
              `no line ${re} from ${path.basename(binary)} within ${ms} ms; last lines:\n${lines.slice(-15).join("\n")}`,
            ),
          );
        }, ms);
        const w = { re, from, resolve: (l: string) => (clearTimeout(t), resolve(l)) };
        waiters.push(w);
      }),
    stop: async (graceMs = 5_000) => {
      if (done) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
