/**
 * Validation benchmark: generates a 100-cluster, 10,000-export topology (with
 * links and splits so every rule does real work) and prints the wall time of
 * `loadTopology` and the peak RSS. Run: `npm run build && npm run bench:validate`.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { resourceUsage } from "node:process";
import { loadTopology } from "../src/topology/load.js";
import { parseYaml } from "../src/topology/parse.js";
import { validateSchema } from "../src/topology/schema.js";
import { toDraft } from "../src/topology/draft.js";
import { runRules } from "../src/topology/rules/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLUSTERS = 100;
const EXPORTS = 10_000;
const SPLITS = 1_000;
const NEIGHBOURS = 3;

/** Builds the benchmark topology as YAML text. */
export function generate(): string {
  const name = (i: number) => `cluster-${String(i % CLUSTERS).padStart(3, "0")}`;
  const out = [
    "apiVersion: crosslink.dev/v1alpha1",
    "kind: Topology",
    "metadata:",
    "  name: bench",
    "spec:",
    "  trustAnchors:",
    "    - name: root",
    "      file: anchors/root.crt",
    "  clusters:",
  ];
  for (let i = 0; i < CLUSTERS; i++)
    out.push(`    - name: ${name(i)}`, `      apiServer: https://10.0.${i >> 8}.${i & 255}:6443`);
  out.push("  links:");
  for (let i = 0; i < CLUSTERS; i++)
    for (let k = 1; k <= NEIGHBOURS; k++) out.push(`    - from: ${name(i)}`, `      to: ${name(i + k)}`);
  out.push("  exports:");
  for (let i = 0; i < EXPORTS; i++)
    out.push(`    - cluster: ${name(i)}`, `      namespace: ns-${i % 50}`, `      services: [svc-${i}]`);
  out.push("  splits:");
  for (let j = 0; j < SPLITS; j++) {
    // service svc-j is exported from cluster j%100 in ns-(j%50); split it in a cluster that links there.
    const target = j % CLUSTERS;
    const from = (target - 1 + CLUSTERS) % CLUSTERS;
    out.push(
      `    - cluster: ${name(from)}`,
      `      namespace: ns-${j % 50}`,
      `      service: svc-${j}`,
      "      backends:",
      `        - service: svc-${j}`,
      "          weight: 90",
      `        - service: svc-${j}`,
      `          cluster: ${name(target)}`,
      "          weight: 10",
    );
  }
  return out.join("\n") + "\n";
}

const text = generate();
const anchor = readFileSync(path.join(ROOT, "examples/east-west/anchors/root.crt"));
const runs: number[] = [];
let summary = "";
for (let run = 0; run < 3; run++) {
  const t0 = performance.now();
  const r = await loadTopology({ file: "bench.yaml", text, baseDir: "/bench", readFile: async () => anchor });
  runs.push(performance.now() - t0);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  summary = r.topology
    ? `valid: ${r.topology.clusters.length} clusters, ${r.topology.links.length} links, ${r.topology.exports.length} exports, ${r.topology.splits.length} splits`
    : `INVALID (${errors.length} errors; first: ${errors[0]?.code} ${errors[0]?.message})`;
}
const phases: string[] = [];
{
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    phases.push(`${name} ${(now - t).toFixed(0)} ms`);
    t = now;
  };
  const parsed = parseYaml("bench.yaml", text);
  lap("parse");
  validateSchema("bench.yaml", parsed.data, parsed.map);
  lap("schema");
  const draft = toDraft(parsed.data);
  lap("draft");
  runRules("bench.yaml", draft, parsed.map);
  lap("rules");
}
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
process.stdout.write(
  [
    `input: ${mb(text.length)} MiB of YAML, ${CLUSTERS} clusters, ${EXPORTS} exports, ${CLUSTERS * NEIGHBOURS} links, ${SPLITS} splits`,
    `result: ${summary}`,
    `validate wall time: first ${runs[0]?.toFixed(0)} ms, then ${runs
      .slice(1)
      .map((t) => t.toFixed(0))
      .join(" ms, ")} ms`,
    `phases (warm): ${phases.join(", ")}`,
    `peak RSS: ${mb(resourceUsage().maxRSS * 1024)} MiB`,
  ].join("\n") + "\n",
);
