/**
 * Plan benchmark: commits two revisions of a 100-cluster topology (300 links,
 * 10,000 exports, 1,000 splits) to a temporary git repository, the head
 * removing links, exports and split backends, re-weighting splits and adding
 * clusters, then times `crosslink plan` between them, in-process per output
 * format and as a fresh CLI process. Target: under 2 s.
 * Run: `npm run build && node dist/bench/plan.js`.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import git from "isomorphic-git";
import { main } from "../src/cli/main.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLUSTERS = 100;
const EXPORTS = 10_000;
const SPLITS = 1_000;
const NEIGHBOURS = 3;
const BUDGET_MS = 2_000;

const name = (i: number) => `cluster-${String(i % CLUSTERS).padStart(3, "0")}`;

/** The benchmark topology as YAML; `head` applies the reviewed change. */
function generate(head: boolean): string {
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
  const clusters = head ? CLUSTERS + 5 : CLUSTERS;
  for (let i = 0; i < clusters; i++) out.push(`    - name: ${i < CLUSTERS ? name(i) : `extra-${i}`}`);
  out.push("  links:");
  // head drops link k=3 of the first 10 clusters
  for (let i = 0; i < CLUSTERS; i++)
    for (let k = 1; k <= NEIGHBOURS; k++)
      if (!(head && k === 3 && i < 10)) out.push(`    - { from: ${name(i)}, to: ${name(i + k)} }`);
  out.push("  exports:");
  // head stops exporting the last 50 services (no split uses them)
  for (let i = 0; i < EXPORTS; i++)
    if (!(head && i >= EXPORTS - 50))
      out.push(`    - { cluster: ${name(i)}, namespace: ns-${i % 50}, services: [svc-${i}] }`);
  out.push("  splits:");
  for (let j = 0; j < SPLITS; j++) {
    const target = j % CLUSTERS;
    const from = (target - 1 + CLUSTERS) % CLUSTERS;
    const w = head && j < 100 ? 30 : 10;
    out.push(
      `    - cluster: ${name(from)}`,
      `      namespace: ns-${j % 50}`,
      `      service: svc-${j}`,
      "      backends:",
      `        - { service: svc-${j}, weight: ${100 - w} }`,
      `        - { service: svc-${j}, cluster: ${name(target)}, weight: ${w} }`,
    );
  }
  return out.join("\n") + "\n";
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crosslink-bench-plan-"));
try {
  await git.init({ fs, dir, defaultBranch: "main" });
  const author = { name: "bench", email: "bench@example.com", timestamp: 1_767_225_600, timezoneOffset: 0 };
  fs.mkdirSync(path.join(dir, "anchors"));
  fs.copyFileSync(path.join(ROOT, "examples/east-west/anchors/root.crt"), path.join(dir, "anchors/root.crt"));
  const commit = async (text: string, message: string) => {
    fs.writeFileSync(path.join(dir, "multicluster.yaml"), text);
    await git.add({ fs, dir, filepath: "multicluster.yaml" });
    await git.add({ fs, dir, filepath: "anchors/root.crt" });
    return git.commit({ fs, dir, message, author });
  };
  const base = await commit(generate(false), "base");
  const head = await commit(generate(true), "change\n\ncrosslink: allow-mass-prune\n");

  const results: string[] = [];
  let worst = 0;
  for (const format of ["human", "markdown", "json"]) {
    const times: number[] = [];
    let out = "";
    let code = 0;
    for (let run = 0; run < 3; run++) {
      out = "";
      const t0 = performance.now();
      code = await main(["plan", "--repo", dir, "--base", base, "--head", head, "-o", format], {
        out: (t) => (out += t),
        err: (t) => (out += t),
      });
      times.push(performance.now() - t0);
    }
    worst = Math.max(worst, ...times.slice(1));
    results.push(
      `in-process ${format.padEnd(8)} ${times.map((t) => t.toFixed(0)).join(" / ")} ms (exit ${code}, ${out.length} bytes)`,
    );
  }
  const t0 = performance.now();
  let cliCode = 0;
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, "bin/crosslink.js"), "plan", "--repo", dir, "--base", base, "--head", head, "-o", "markdown"],
      { stdio: "ignore" },
    );
  } catch (err) {
    cliCode = (err as { status?: number }).status ?? -1;
  }
  const cli = performance.now() - t0;
  worst = Math.max(worst, cli);
  results.push(`CLI process (markdown)    ${cli.toFixed(0)} ms (exit ${cliCode})`);
  console.log(
    `plan benchmark: ${CLUSTERS} clusters, ${CLUSTERS * NEIGHBOURS} links, ${EXPORTS} exports, ${SPLITS} splits`,
  );
  for (const r of results) console.log(`  ${r}`);
  console.log(
    `${worst < BUDGET_MS ? "PASS" : "FAIL"}: slowest warm run ${worst.toFixed(0)} ms (budget ${BUDGET_MS} ms)`,
  );
  if (worst >= BUDGET_MS) process.exitCode = 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
