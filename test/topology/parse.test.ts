import { test } from "node:test";
import assert from "node:assert/strict";
import { parseYaml } from "../../src/topology/parse.js";
import { brief, codes, load } from "./helpers.js";

test("positions: keys and values by JSON pointer, nearest ancestor as fallback", () => {
  const r = parseYaml("f.yaml", "a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n'e/f': 3\n");
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.map.value("/a/b"), { line: 2, col: 6 });
  assert.deepEqual(r.map.key("/a/b"), { line: 2, col: 3 });
  assert.deepEqual(r.map.value("/a/c/1/d"), { line: 5, col: 11 });
  assert.deepEqual(r.map.value("/a/c/1/zzz"), { line: 5, col: 7 });
  assert.deepEqual(r.map.key("/e~1f"), { line: 6, col: 1 });
  assert.equal(r.map.has("/a/c/0"), true);
  assert.equal(r.map.has("/nope"), false);
});

test("YAML syntax errors are located diagnostics", () => {
  const r = parseYaml("f.yaml", "a: 1\nb: [1, 2\n");
  assert.equal(r.data, undefined);
  assert.ok(r.diagnostics.length >= 1);
  assert.equal(r.diagnostics[0]?.code, "XL104");
  assert.ok((r.diagnostics[0]?.line ?? 0) >= 1);
});

test("tab indentation and duplicate keys", () => {
  assert.equal(parseYaml("f", "a:\n\tb: 1\n").diagnostics[0]?.code, "XL104");
  const dup = parseYaml("f", "a: 1\nb: 2\na: 3\n");
  assert.deepEqual(brief(dup.diagnostics), ["XL105@3:1"]);
});

test("several documents", () => {
  assert.deepEqual(codes(parseYaml("f", "a: 1\n---\nb: 2\n").diagnostics), ["XL107"]);
});

test("empty and comment-only files", () => {
  assert.deepEqual(codes(parseYaml("f", "").diagnostics), ["XL103"]);
  assert.deepEqual(codes(parseYaml("f", "# nothing\n\n").diagnostics), ["XL103"]);
});

test("binary bytes, invalid UTF-8, BOM", () => {
  assert.deepEqual(brief(parseYaml("f", "a: 1\nb: \u0000\u0001\n").diagnostics), ["XL101@2:4"]);
  assert.deepEqual(codes(parseYaml("f", new Uint8Array([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a])).diagnostics), ["XL101"]);
  const bom = parseYaml("f", new TextEncoder().encode("\ufeffa: 1\n"));
  assert.deepEqual(bom.data, { a: 1 });
});

test("size limit", () => {
  const big = "a: " + "x".repeat(200) + "\n";
  assert.deepEqual(codes(parseYaml("f", big, { maxBytes: 100 }).diagnostics), ["XL102"]);
});

test("alias bombs are bounded", () => {
  const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 0; i < 9; i++) {
    const p = String.fromCharCode(97 + i);
    const n = String.fromCharCode(98 + i);
    lines.push(`${n}: &${n} [*${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}]`);
  }
  const t0 = Date.now();
  const r = parseYaml("f", lines.join("\n") + "\n");
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(codes(r.diagnostics), ["XL106"]);
  assert.equal(r.data, undefined);
});

test("the loader never throws on hostile roots", async () => {
  for (const text of [
    "- a\n- b\n",
    "just a string\n",
    "42\n",
    "null\n",
    "~\n",
    "[\n",
    "{{{{",
    "? [a]\n: b\n",
    "!!binary aGVsbG8=\n",
    "!foo bar\n",
    "a: !!int x\n",
  ]) {
    const r = await load(text);
    assert.equal(r.topology, undefined, text);
    assert.ok(r.diagnostics.length > 0, text);
    for (const d of r.diagnostics) assert.ok(d.line >= 1 && d.col >= 1, text);
    assert.ok(!codes(r.diagnostics).includes("XL199"), `${text}: ${JSON.stringify(r.diagnostics)}`);
  }
});

test("a list root is a type error at 1:1", async () => {
  const r = await load("- a\n- b\n");
  assert.deepEqual(brief(r.diagnostics), ["XL112@1:1"]);
});

test("a 10 MB file is refused quickly, and a 2 MB file parses without throwing", async () => {
  const ten = "a: " + "x".repeat(10 * 1024 * 1024) + "\n";
  let t0 = Date.now();
  assert.deepEqual(codes((await load(ten)).diagnostics), ["XL102"]);
  assert.ok(Date.now() - t0 < 1000);
  const lines: string[] = [];
  for (let i = 0; lines.length * 40 < 2 * 1024 * 1024; i++) lines.push(`  - {name: cluster-${i}, context: ctx-${i}}`);
  const two = [
    "apiVersion: crosslink.dev/v1alpha1",
    "kind: Topology",
    "metadata: {name: big}",
    "spec:",
    "  clusters:",
    ...lines,
    "",
  ].join("\n");
  t0 = Date.now();
  const r = await load(two);
  assert.ok(r.diagnostics.length >= 1);
  assert.ok(Date.now() - t0 < 15_000);
});
