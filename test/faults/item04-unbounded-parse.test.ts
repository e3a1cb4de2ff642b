/**
 * Issue 9, item 4: unbounded parse. Any input up to the size limit is read
 * within bounded time and memory, diagnostics included; nesting past the
 * depth limit is its own located error; a terminal gets at most 100
 * diagnostics, then a count. Bounds here are generous (the machine running
 * the suite may be busy); the target is 2 s and 300 MiB.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { describeRun, logRun, ROOT, runCli } from "./cli-run.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "crosslink-item04-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const MAX = 4 * 1024 * 1024;
const HEAD =
  "apiVersion: crosslink.dev/v1alpha1\nkind: Topology\nmetadata: {name: t}\nspec:\n  trustAnchors: [{name: r, pem: x}]\n";

function file(name: string, text: string): string {
  assert.ok(Buffer.byteLength(text) <= MAX, `${name} must be within the size limit`);
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Checks the run stayed within the bounds: finished by itself, CPU and RSS bounded. */
function bounded(r: Awaited<ReturnType<typeof runCli>>): void {
  logRun("run", r);
  assert.equal(r.killed, false, describeRun(r));
  assert.ok((r.cpuMs ?? Infinity) < 6_000, `CPU time: ${describeRun(r)}`);
  assert.ok((r.maxRssMiB ?? Infinity) < 300, `peak RSS: ${describeRun(r)}`);
}

const LIMIT = { limitMs: 90_000 }; // a hang guard only: CPU time and RSS, measured in the child, are the bounds

test("4 MiB of `[],` inside a list is read in bounded time and memory", async () => {
  const n = Math.floor((MAX - 10) / 3);
  const r = await runCli(["validate", file("brackets.yaml", "[" + "[],".repeat(n) + "]\n")], LIMIT);
  bounded(r);
  assert.equal(r.code, 1, describeRun(r));
  assert.match(r.stdout, /error XL1\d\d:/, describeRun(r));
});

test("4 MiB of `[],` as the clusters list: bounded, at most 100 diagnostics printed, then a count", async () => {
  const n = Math.floor((MAX - HEAD.length - 30) / 3);
  const r = await runCli(["validate", file("clusters.yaml", HEAD + "  clusters: [" + "[],".repeat(n) + "]\n")], LIMIT);
  bounded(r);
  assert.equal(r.code, 1, describeRun(r));
  assert.doesNotMatch(r.stdout, /XL199|Maximum call stack/, describeRun(r));
});

test("a large list of wrong items: at most 100 diagnostics printed, then a count of the rest", async () => {
  const items = Array.from({ length: 50_000 }, () => "[]").join(", ");
  const r = await runCli(["validate", file("many.yaml", HEAD + `  clusters: [${items}]\n`)], LIMIT);
  bounded(r);
  assert.equal(r.code, 1, describeRun(r));
  const printed = r.stdout.split("\n").filter((l) => / (error|warning) XL\d{3}: /.test(l)).length;
  assert.equal(printed, 100, describeRun(r));
  assert.match(r.stdout, /^… and \d+ more \(\d+ errors?, \d+ warnings?\)$/m, describeRun(r));
});

test("a realistic 4 MiB topology (53,000 exports, 53,300 warnings) is read in bounded CPU and under 300 MiB, diagnostics included", async () => {
  const out = [HEAD.trimEnd(), "  clusters:"];
  for (let i = 0; i < 100; i++) out.push(`    - name: cluster-${i}`);
  out.push("  exports:");
  for (let i = 0; out.length < 160_000; i++)
    out.push(`    - cluster: cluster-${i % 100}`, `      namespace: ns-${i % 50}`, `      services: [svc-${i}]`);
  const text = out.join("\n") + "\n";
  assert.ok(Buffer.byteLength(text) > 0.95 * MAX, "close to the size limit");
  const r = await runCli(["validate", file("exports.yaml", text)], LIMIT);
  // The target is 2 s of CPU, measured in the child and logged here (process start included: about 0.4 s
  // of it): 1.7–2.0 s, was 2.1–2.6 s and 230–237 MiB. CPU time on a shared machine varies by ±25 %, so the test
  // asserts twice the target, which still catches a return of the quadratic paths (47.5 s before).
  logRun("realistic 4 MiB", r);
  assert.equal(r.killed, false, describeRun(r));
  assert.ok((r.cpuMs ?? Infinity) < 4_000, `CPU time: ${describeRun(r)}`);
  assert.ok((r.maxRssMiB ?? Infinity) < 300, `peak RSS: ${describeRun(r)}`);
  assert.equal(r.code, 1, describeRun(r));
  assert.match(r.stdout, /… and 53200 more \(0 errors, 53200 warnings\)/, describeRun(r));
});

for (const [name, text] of [
  ["flow lists", "[".repeat(100_000) + "]".repeat(100_000)],
  ["flow mappings", "{a: ".repeat(50_000) + "1" + "}".repeat(50_000)],
  [
    "block lists",
    HEAD + "  clusters:\n" + Array.from({ length: 2_000 }, (_, i) => " ".repeat(4 + i) + "-").join("\n") + " x\n",
  ],
  ["under a key, after a syntax error", "a: !!binary x\nb: [\n" + "[".repeat(30_000) + "]".repeat(30_000) + "\n"],
] as const) {
  test(`deep nesting (${name}) is a located XL109 or syntax error, not a stack overflow`, async () => {
    const r = await runCli(["validate", file(`deep-${name.replace(/\W+/g, "-")}.yaml`, text)], LIMIT);
    bounded(r);
    assert.equal(r.code, 1, describeRun(r));
    assert.doesNotMatch(r.stdout, /Maximum call stack|XL199/, describeRun(r));
    assert.match(r.stdout, /:\d+:\d+: error XL1(09|04): /, describeRun(r));
  });
}

test("nesting past the limit names the limit and where it was passed", async () => {
  const r = await runCli(["validate", file("deep65.yaml", "a: " + "[".repeat(70) + "]".repeat(70) + "\n")], LIMIT);
  assert.equal(r.code, 1, describeRun(r));
  assert.match(
    r.stdout,
    /deep65\.yaml:1:\d+: error XL109: lists and mappings are nested more than 64 levels deep/,
    describeRun(r),
  );
});

test("the compact position index of large files finds what the position-keeping parser finds", async () => {
  const { readdirSync, readFileSync } = await import("node:fs");
  const { indexPositions } = await import("../../src/topology/positions.js");
  const { parseYaml } = await import("../../src/topology/parse.js");
  const root = path.join(ROOT, "examples");
  const files = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(root, d.name, "multicluster.yaml"))
    .filter((f) => {
      try {
        readFileSync(f);
        return true;
      } catch {
        return false;
      }
    });
  files.push(
    ...readdirSync(path.join(ROOT, "test/fixtures/topology/invalid")).map((f) =>
      path.join(ROOT, "test/fixtures/topology/invalid", f),
    ),
  );
  let compared = 0;
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    const careful = parseYaml(f, text + "\n# " + "&".repeat(1) + "\n"); // an `&` takes the position-keeping path
    if (careful.data === undefined) continue;
    const index = indexPositions(text, 64);
    const pointers: string[] = [];
    const walk = (v: unknown, p: string) => {
      pointers.push(p);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}/${i}`));
      else if (v && typeof v === "object")
        for (const [k, x] of Object.entries(v)) walk(x, `${p}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`);
    };
    walk(careful.data, "");
    for (const p of [...pointers, "/spec/nope", "/spec/clusters/99"]) {
      assert.deepEqual(index.value(p), careful.map.value(p), `${f} value ${p}`);
      assert.deepEqual(index.key(p), careful.map.key(p), `${f} key ${p}`);
      assert.equal(index.has(p), careful.map.has(p), `${f} has ${p}`);
      compared++;
    }
  }
  assert.ok(compared > 100, `compared ${compared} pointers`);
});
