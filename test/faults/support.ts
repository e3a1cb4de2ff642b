/** Helpers of the fault tests: `crosslink run` as a child process (to SIGSTOP and SIGTERM it) and its log lines. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import type { ClusterClient } from "../../src/kube/port.js";
import { ROOT } from "../daemon/support.js";

/** A log line of the child with the time the test read it. */
export interface LogLine {
  at: number;
  text: string;
  json?: Record<string, unknown>;
}

/** A `crosslink run` child process. */
export interface DaemonChild {
  child: ChildProcess;
  lines: LogLine[];
  /** Resolves with the first line from index `from` on that matches; rejects after `ms`. */
  waitLine(re: RegExp, ms: number, from?: number): Promise<LogLine>;
  /** Resolves when the process has exited: its code, signal and the time. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** SIGKILLs the process if it still runs. */
  kill(): void;
}

/** Starts `crosslink run ARGS` with info logs on stdout. */
export function spawnDaemon(args: string[]): DaemonChild {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "crosslink.js"), "run", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CROSSLINK_LOG_LEVEL: "info" },
  });
  const lines: LogLine[] = [];
  const waiters: { re: RegExp; from: number; resolve: (l: LogLine) => void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const onLine = (text: string) => {
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    const line: LogLine = { at: Date.now(), text, ...(json ? { json } : {}) };
    lines.push(line);
    for (const w of [...waiters]) {
      if (lines.length - 1 >= w.from && w.re.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout! }).on("line", onLine);
  createInterface({ input: child.stderr! }).on("line", onLine);
  return {
    child,
    lines,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    waitLine: (re, ms, from = 0) =>
      new Promise<LogLine>((resolve, reject) => {
        const hit = lines.slice(from).find((l) => re.test(l.text));
        if (hit) return resolve(hit);
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `no log line ${re} in ${ms} ms; last lines:\n${lines
                  .slice(-12)
                  .map((l) => l.text)
                  .join("\n")}`,
              ),
            ),
          ms,
        );
        waiters.push({ re, from, resolve: (l) => (clearTimeout(t), resolve(l)) });
      }),
  };
}

/** Creates namespace `ns` and `n` Services `svc-000`… in it (server-side apply as `test-seed`); returns their names. */
export async function createServices(client: ClusterClient, ns: string, n: number): Promise<string[]> {
  await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, { fieldManager: "test-seed" });
  const names = Array.from({ length: n }, (_, i) => `svc-${String(i).padStart(3, "0")}`);
  for (let i = 0; i < names.length; i += 20) {
    await Promise.all(
      names.slice(i, i + 20).map((name) =>
        client.apply(
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name, namespace: ns },
            spec: { selector: { app: name }, ports: [{ name: "http", port: 80 }] },
          },
          { fieldManager: "test-seed" },
        ),
      ),
    );
  }
  return names;
}

/** resourceVersion of every Service in `ns`, by name. */
export async function serviceVersions(client: ClusterClient, ns: string): Promise<Map<string, string>> {
  const list = await client.list("v1", "Service", { namespace: ns });
  return new Map(list.map((s) => [s.metadata.name, String(s.metadata.resourceVersion)]));
}

/** How many entries of `after` differ from `before`. */
export function changedCount(before: Map<string, string>, after: Map<string, string>): number {
  let n = 0;
  for (const [name, rv] of after) if (before.get(name) !== rv) n++;
  return n;
}

/** Sleeps `ms`. */
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
