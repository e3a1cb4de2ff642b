/**
 * helm v4 for the chart tests: built once from the Go module proxy by scripts/go-tool.sh into
 * .cache/bin/helm (CI builds it before the tests). Under CI (`CI=true`) a helm that cannot be had
 * is an error; elsewhere the tests skip with the reason.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../harness/paths.js";
import type { KubeObject } from "../../src/kube/object.js";

const run = promisify(execFile);

/** The module and version of helm the tests use. */
export const HELM_MODULE = "helm.sh/helm/v4/cmd/helm@v4.3.1";

/** The chart under test. */
export const CHART_DIR: string = path.join(repoRoot, "charts", "crosslink");

let cached: Promise<string> | undefined;

/** Builds (once, cached in .cache/bin) and returns the path of helm; throws when it cannot be built. */
export function helmBinary(): Promise<string> {
  cached ??= run("bash", [path.join(repoRoot, "scripts", "go-tool.sh"), "helm", HELM_MODULE], {
    cwd: repoRoot,
    timeout: 30 * 60_000,
    maxBuffer: 16 << 20,
  }).then(({ stdout }) => stdout.trim().split("\n").pop()!);
  return cached;
}

/** helm, or a reason to skip: under CI a helm that cannot be built throws so the suite fails. */
export async function requireHelm(): Promise<{ helm?: string; skip?: string }> {
  try {
    return { helm: await helmBinary() };
  } catch (e) {
    const why = `helm cannot be built (scripts/go-tool.sh helm ${HELM_MODULE} needs Go and the Go module proxy): ${(e as Error).message.slice(0, 2000)}`;
    if (process.env.CI === "true") throw new Error(why);
    return { skip: why };
  }
}

/** What a helm run printed and how it ended. */
export interface HelmRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with `args` (bounded at 2 minutes); never throws for a non-zero exit. */
export async function runHelm(helm: string, args: string[]): Promise<HelmRun> {
  try {
    const { stdout, stderr } = await run(helm, args, {
      cwd: repoRoot,
      timeout: 120_000,
      maxBuffer: 16 << 20,
      env: { ...process.env, HELM_CACHE_HOME: path.join(repoRoot, ".cache", "helm") },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

/** A values file of the chart's ci/ directory. */
export const valuesFile = (name: "default" | "full"): string => path.join(CHART_DIR, "ci", `${name}-values.yaml`);

/** `helm template` of the chart with the given values files and `--set`s into objects; throws on a failed render. */
export async function renderChart(
  helm: string,
  opts: { values?: string[]; set?: string[]; namespace?: string; release?: string } = {},
): Promise<KubeObject[]> {
  const args = ["template", opts.release ?? "crosslink", CHART_DIR, "--namespace", opts.namespace ?? "crosslink"];
  for (const f of opts.values ?? []) args.push("-f", f);
  for (const s of opts.set ?? []) args.push("--set", s);
  const r = await runHelm(helm, args);
  if (r.code !== 0) throw new Error(`helm template failed (exit ${r.code}): ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** The one object of `kind` (and name, when given); throws when there is none or more than one. */
export function one(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const hits = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (hits.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${hits.length}: ${kinds(objects)}`);
  return hits[0]!;
}

/** `Kind/name` of every object, sorted. */
export function kinds(objects: KubeObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}
