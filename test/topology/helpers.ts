/** Shared helpers of the topology tests: repo paths, a fixed clock and an in-memory loader. */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Diagnostic } from "../../src/diagnostics.js";
import { loadTopology, type LoadResult } from "../../src/topology/load.js";

/** The repository root (tests run from dist/test/topology). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
/** The directory of topology fixtures. */
export const FIXTURES = path.join(ROOT, "test/fixtures/topology");
/** Path of the committed good anchor used by fixtures. */
export const ROOT_CRT = path.join(FIXTURES, "anchors/root.crt");

/** A fixed clock: one day after the fixture anchors were made, so expiry results never drift. */
export const NOW = Date.parse(new X509Certificate(readFileSync(ROOT_CRT)).validFrom) + 86_400_000;

/** Loads YAML text as if it were `FIXTURES/<file>`, anchors read from disk, clock fixed. */
export function load(
  text: string,
  opts: { file?: string; now?: number; files?: Record<string, string> } = {},
): Promise<LoadResult> {
  const file = opts.file ?? "test.yaml";
  return loadTopology({
    file,
    text,
    baseDir: FIXTURES,
    now: opts.now ?? NOW,
    readFile: async (p) => {
      const rel = path.relative(FIXTURES, p);
      const mem = opts.files?.[rel];
      if (mem !== undefined) return mem;
      return readFile(p);
    },
  });
}

/** `CODE@LINE:COL` for each diagnostic, for compact assertions. */
export function brief(diags: readonly Diagnostic[]): string[] {
  return diags.map((d) => `${d.code}@${d.line}:${d.col}`);
}

/** The codes of the diagnostics. */
export function codes(diags: readonly Diagnostic[]): string[] {
  return diags.map((d) => d.code);
}

/** A minimal valid topology in YAML, with extra `spec` lines appended (already indented by 2). */
export function topo(extra = "", clusters = ["east", "west"]): string {
  return [
    "apiVersion: crosslink.dev/v1alpha1",
    "kind: Topology",
    "metadata:",
    "  name: t",
    "spec:",
    "  trustAnchors:",
    "    - name: root",
    "      file: anchors/root.crt",
    "  clusters:",
    ...clusters.map((c) => `    - name: ${c}`),
    extra,
  ].join("\n");
}
