/**
 * The invalid corpus: every `test/fixtures/topology/invalid/*.yaml` has a sibling
 * `.expected.json` listing its exact diagnostics ({code, line, col, severity}).
 * Set UPDATE_EXPECTED=1 to rewrite them after a deliberate change (then review the diff).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadTopologyFile } from "../../src/topology/load.js";
import { FIXTURES, NOW } from "./helpers.js";

const DIR = path.join(FIXTURES, "invalid");
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

test("the invalid corpus is not empty", () => {
  assert.ok(files.length >= 10);
});

for (const f of files) {
  test(`invalid/${f}`, async () => {
    const r = await loadTopologyFile(path.join(DIR, f), { now: NOW, displayName: f });
    const got = r.diagnostics.map((d) => ({ code: d.code, line: d.line, col: d.col, severity: d.severity }));
    const expectedFile = path.join(DIR, f.replace(/\.yaml$/, ".expected.json"));
    if (process.env.UPDATE_EXPECTED) writeFileSync(expectedFile, JSON.stringify(got, null, 2) + "\n");
    const expected = JSON.parse(readFileSync(expectedFile, "utf8")) as unknown;
    assert.deepEqual(got, expected);
    assert.equal(r.topology, undefined, "an invalid file yields no topology");
    for (const d of r.diagnostics) {
      assert.equal(d.file, f);
      assert.ok(d.hint && d.hint.length > 0, `${d.code} has a hint`);
    }
  });
}
