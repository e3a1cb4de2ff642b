// `npm run clusters -- up east west [--dir DIR] [--bare] [--replace]`
// `npm run clusters -- down [--dir DIR]`
// `npm run clusters -- status [--dir DIR]`
//
// Local kube-harness clusters that keep running in the background (detached)
// until `down`. Default DIR: .clusters/ at the repository root.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { clientForContext } from "../../src/kube/access.js";
import { kubeConfigFor, toKubeconfig } from "./kube.js";
import { defaultClustersDir } from "./paths.js";
import { readClustersFile, runningClusters, startClusters, stopClusters, harnessPidsUnder } from "./driver.js";

const USAGE = `usage: npm run clusters -- <command> [options]

  up NAME... [--dir DIR] [--bare] [--replace]   start clusters in the background (seeded with
                                                Linkerd + multicluster objects unless --bare;
                                                --replace stops clusters already running in DIR)
  down [--dir DIR]                              stop every cluster in DIR
  status [--dir DIR]                            list the clusters in DIR

DIR defaults to ${path.relative(process.cwd(), defaultClustersDir) || defaultClustersDir}.`;

interface Parsed {
  command: string | undefined;
  names: string[];
  dir: string;
  bare: boolean;
  replace: boolean;
}

function parseArgs(argv: string[]): Parsed {
  const out: Parsed = { command: undefined, names: [], dir: defaultClustersDir, bare: false, replace: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--dir") {
      const v = argv[++i];
      if (!v) throw new Error("--dir needs a value");
      out.dir = path.resolve(v);
    } else if (a.startsWith("--dir=")) out.dir = path.resolve(a.slice(6));
    else if (a === "--bare") out.bare = true;
    else if (a === "--replace") out.replace = true;
    else if (a === "-h" || a === "--help") out.command = "help";
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else if (!out.command) out.command = a;
    else out.names.push(a);
  }
  return out;
}

async function up(p: Parsed): Promise<number> {
  if (p.names.length === 0) {
    console.error("up: name at least one cluster, e.g. `npm run clusters -- up east west`");
    return 2;
  }
  const running = await runningClusters(p.dir);
  const strays = harnessPidsUnder(p.dir);
  if (running.length || strays.length) {
    const what = running.length
      ? running.map((c) => `${c.name} (pid ${c.pid})`).join(", ")
      : `pids ${strays.join(", ")}`;
    if (!p.replace) {
      console.error(
        `up: clusters are already running in ${p.dir}: ${what}.\n` +
          `    Stop them with \`npm run clusters -- down${p.dir === defaultClustersDir ? "" : ` --dir ${p.dir}`}\`, ` +
          `or pass --replace to stop and start again.`,
      );
      return 1;
    }
    const r = await stopClusters(p.dir);
    console.error(`stopped ${r.stopped.join(", ") || what}`);
  }
  const started = await startClusters(p.names, { dir: p.dir, detached: true, seed: !p.bare, log: () => undefined });
  const secs = (started.ms / 1000).toFixed(1);
  console.log(
    `${started.clusters.length} cluster${started.clusters.length === 1 ? "" : "s"} ready in ${secs}s${p.bare ? " (bare)" : ""}`,
  );
  for (const c of started.clusters) console.log(`  ${c.name.padEnd(12)} ${c.server}  pid ${c.pid}  log ${c.log}`);
  console.log(`trust anchor: ${started.trustAnchorPath}`);
  console.log(`export KUBECONFIG=${started.kubeconfigPath}`);
  return 0;
}

async function down(p: Parsed): Promise<number> {
  const r = await stopClusters(p.dir);
  const left = harnessPidsUnder(p.dir);
  if (r.stopped.length === 0 && r.killed.length === 0) console.log(`no clusters running in ${p.dir}`);
  else
    console.log(
      `stopped ${r.stopped.join(", ") || "stray processes"}${r.killed.length ? ` (SIGKILL: ${r.killed.join(", ")})` : ""}`,
    );
  if (left.length) {
    console.error(`still running under ${p.dir}: pids ${left.join(", ")}`);
    return 1;
  }
  return 0;
}

async function status(p: Parsed): Promise<number> {
  const f = await readClustersFile(p.dir);
  if (!f) {
    const strays = harnessPidsUnder(p.dir);
    console.log(
      `no clusters in ${p.dir}${strays.length ? ` (but kube-harness pids ${strays.join(", ")} run there)` : ""}`,
    );
    return strays.length ? 1 : 0;
  }
  const alive = new Set((await runningClusters(p.dir)).map((c) => c.name));
  let bad = 0;
  console.log(`KUBECONFIG=${f.kubeconfig} (started ${f.startedAt})`);
  for (const c of f.clusters) {
    let state = alive.has(c.name) ? "running" : "stopped";
    if (state === "running") {
      try {
        const client = clientForContext(toKubeconfig(kubeConfigFor(f.kubeconfig, c.name)), c.name, c.name, {
          attempts: 1,
          baseDelayMs: 0,
          timeoutMs: 3000,
        })!;
        const body = await client.readyz().finally(() => client.close());
        state = body === "ok" ? "ready" : `running (readyz: ${body.slice(0, 40)})`;
      } catch (e) {
        state = `running (readyz failed: ${e instanceof Error ? e.message : String(e)})`;
      }
    }
    if (state !== "ready") bad++;
    console.log(`  ${c.name.padEnd(12)} ${c.server}  pid ${String(c.pid).padEnd(7)} ${state}`);
  }
  return bad ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parseArgs(argv);
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  switch (p.command) {
    case "up":
      return up(p);
    case "down":
      return down(p);
    case "status":
      return status(p);
    case "help":
      console.log(USAGE);
      return 0;
    default:
      console.error(p.command ? `unknown command ${p.command}\n\n${USAGE}` : USAGE);
      return 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
