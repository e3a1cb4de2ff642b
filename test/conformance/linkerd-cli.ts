/**
 * Runs Linkerd's own CLI (see tools.ts) against harness clusters, for the
 * conformance tests: every run gets `HTTPS_PROXY=http://127.0.0.1:9` so the
 * CLI's version check against the internet fails on loopback (Go sends the
 * API-server requests to 127.0.0.1 directly), and a throwaway HOME.
 *
 * Also: parsing `linkerd multicluster check -o json`, splitting multi-document
 * YAML output into objects, and rendering Linkerd's CRDs (the harness's
 * fixtures in test/harness/crds/ are that output; `node
 * dist/test/conformance/linkerd-cli.js write-crds` rewrites them).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, stringify } from "yaml";
import type { KubeObject } from "../../src/kube/object.js";
import { crdDir } from "../harness/paths.js";
import { linkerdTools, type LinkerdTools } from "./tools.js";

/** Where a linkerd command points: a kubeconfig file and one of its contexts. */
export interface LinkerdTarget {
  kubeconfig: string;
  context: string;
}

/** The outcome of one CLI run. */
export interface LinkerdRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A proxy on loopback that refuses connections: any request meant for the internet fails locally. */
export const DEAD_PROXY = "http://127.0.0.1:9";

let home: string | undefined;

/** Environment of every CLI run: no internet (dead proxy), a private HOME, no inherited kubeconfig. */
export function linkerdEnv(): NodeJS.ProcessEnv {
  home ??= mkdtempSync(path.join(os.tmpdir(), "crosslink-linkerd-home-"));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home };
  for (const k of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]) env[k] = DEAD_PROXY;
  env.NO_PROXY = "";
  env.no_proxy = "";
  return env;
}

/** Runs `linkerd --kubeconfig K --context C ARGS…`; never throws on a non-zero exit. */
export function runLinkerd(
  tools: LinkerdTools,
  target: LinkerdTarget | undefined,
  args: string[],
  timeoutMs = 60_000,
): Promise<LinkerdRun> {
  const full = target ? ["--kubeconfig", target.kubeconfig, "--context", target.context, ...args] : args;
  return new Promise((resolve, reject) => {
    execFile(
      tools.linkerd,
      full,
      { env: linkerdEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== "number") return reject(err);
        resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout, stderr });
      },
    );
  });
}

/** Like runLinkerd, but a non-zero exit is an error carrying stderr. */
export async function linkerdOk(
  tools: LinkerdTools,
  target: LinkerdTarget | undefined,
  args: string[],
  timeoutMs?: number,
): Promise<string> {
  const r = await runLinkerd(tools, target, args, timeoutMs);
  if (r.code !== 0)
    throw new Error(`linkerd ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function yamlObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o && typeof o === "object" && o.kind));
}

/** One check of `linkerd multicluster check -o json`. */
export interface CheckResult {
  category: string;
  description: string;
  /** "success", "warning" or "error". */
  result: string;
  error?: string;
  hint?: string;
}

/** The parsed report of `linkerd multicluster check -o json`. */
export interface CheckReport {
  success: boolean;
  checks: CheckResult[];
  run: LinkerdRun;
}

interface CheckJson {
  success?: boolean;
  categories?: {
    categoryName: string;
    checks?: { description: string; result: string; error?: string; hint?: string }[];
  }[];
}

/** Parses the JSON report of `linkerd … check -o json`. */
export function parseCheckJson(stdout: string): { success: boolean; checks: CheckResult[] } {
  const doc = JSON.parse(stdout) as CheckJson;
  const checks: CheckResult[] = [];
  for (const c of doc.categories ?? []) {
    for (const k of c.checks ?? []) {
      const r: CheckResult = { category: c.categoryName, description: k.description, result: k.result };
      if (k.error) r.error = k.error;
      if (k.hint) r.hint = k.hint;
      checks.push(r);
    }
  }
  return { success: Boolean(doc.success), checks };
}

/**
 * Runs `linkerd multicluster check -o json` on one cluster. Checks that wait
 * for pods are bounded by `--wait` (default 5s: nothing runs pods on the harness).
 */
export async function multiclusterCheck(tools: LinkerdTools, target: LinkerdTarget, wait = "5s"): Promise<CheckReport> {
  const run = await runLinkerd(tools, target, ["multicluster", "check", "-o", "json", "--wait", wait], 180_000);
  try {
    return { ...parseCheckJson(run.stdout), run };
  } catch (e) {
    throw new Error(
      `linkerd multicluster check printed no JSON (exit ${run.code}): ${(e as Error).message}\n${run.stderr}\n${run.stdout.slice(0, 2000)}`,
    );
  }
}

/** The CRDs the harness installs from Linkerd's own chart output, with the command that renders each. */
export const LINKERD_CRD_SOURCES: { name: string; args: string[] }[] = [
  { name: "links.multicluster.linkerd.io", args: ["multicluster", "install", "--ignore-cluster"] },
  { name: "servers.policy.linkerd.io", args: ["install", "--crds", "--ignore-cluster"] },
  { name: "httproutes.policy.linkerd.io", args: ["install", "--crds", "--ignore-cluster"] },
];

/** Renders Linkerd's CRDs named in LINKERD_CRD_SOURCES, by name. */
export async function renderLinkerdCrds(tools: LinkerdTools): Promise<Map<string, KubeObject>> {
  const out = new Map<string, KubeObject>();
  const byArgs = new Map<string, KubeObject[]>();
  for (const s of LINKERD_CRD_SOURCES) {
    const key = s.args.join(" ");
    if (!byArgs.has(key)) byArgs.set(key, yamlObjects(await linkerdOk(tools, undefined, s.args)));
    const crd = byArgs.get(key)!.find((o) => o.kind === "CustomResourceDefinition" && o.metadata.name === s.name);
    if (!crd) throw new Error(`linkerd ${key} rendered no CRD ${s.name}`);
    out.set(s.name, crd);
  }
  return out;
}

/** The header of a CRD fixture: whose output it is and how it was made. */
export function crdFixtureHeader(name: string, version: string): string {
  const src = LINKERD_CRD_SOURCES.find((s) => s.name === name)!;
  return (
    `# Linkerd's own chart output (github.com/linkerd/linkerd2, Apache-2.0), not crosslink's:\n` +
    `# \`linkerd ${src.args.join(" ")}\` of Linkerd ${version}, this CRD only, unchanged.\n` +
    `# Regenerate with \`node dist/test/conformance/linkerd-cli.js write-crds\`; test/conformance/crds.test.ts\n` +
    `# fails when this file and the CLI's output differ.\n`
  );
}

/** Rewrites the harness's CRD fixtures from Linkerd's CLI. */
export async function writeCrdFixtures(tools: LinkerdTools): Promise<string[]> {
  const version = await cliVersion(tools);
  const written: string[] = [];
  for (const [name, crd] of await renderLinkerdCrds(tools)) {
    const file = path.join(crdDir, `${name}.yaml`);
    writeFileSync(file, crdFixtureHeader(name, version) + stringify(crd, { lineWidth: 0 }));
    written.push(file);
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "write-crds") {
  const tools = await linkerdTools();
  if (!tools) throw new Error("Linkerd's binaries are missing (see test/conformance/tools.ts)");
  for (const f of await writeCrdFixtures(tools)) console.log(f);
}

/** The client version of Linkerd's CLI (`edge-26.8.3`); harness clusters are seeded with it so versions match. */
export async function cliVersion(tools: LinkerdTools): Promise<string> {
  return (await linkerdOk(tools, undefined, ["version", "--client", "--short"])).trim();
}
