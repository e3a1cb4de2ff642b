/**
 * The XL code registry (src/codes.ts with src/topology/codes.ts) against
 * docs/diagnostics.md, both ways, and against the codes the source uses.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import { ALL_CODES, ENGINE_CODES, RETIRED_CODES, REVIEW_CODES } from "../../src/codes.js";
import { CODES as TOPOLOGY_CODES } from "../../src/topology/codes.js";
import { CHECK_CODES } from "../../src/check/codes.js";
import { repoRoot } from "../support/paths.js";

const doc = readFileSync(path.join(repoRoot, "docs/diagnostics.md"), "utf8");
const documented = new Map(
  [...doc.matchAll(/^\| (XL\d{3}) \| (error|warning|info|–) \| (.*) \|$/gm)].map((m) => [m[1]!, m[3]!]),
);

test("every registered code is documented with the same meaning", () => {
  for (const [code, meaning] of Object.entries(ALL_CODES)) assert.equal(documented.get(code), meaning, code);
});

test("every documented code is registered", () => {
  const unregistered = [...documented.keys()].filter((c) => !(c in ALL_CODES));
  assert.deepEqual(unregistered, []);
  assert.ok(documented.size >= 60, `the docs' tables were read (${documented.size} rows)`);
});

test("each code is registered once, in the range of its table", () => {
  const all = [
    ...Object.keys(TOPOLOGY_CODES),
    ...Object.keys(ENGINE_CODES),
    ...Object.keys(REVIEW_CODES),
    ...Object.keys(CHECK_CODES),
    ...Object.keys(RETIRED_CODES),
  ];
  assert.equal(new Set(all).size, all.length);
  for (const c of Object.keys(TOPOLOGY_CODES)) assert.match(c, /^XL[123]\d\d$/);
  for (const c of Object.keys(ENGINE_CODES)) assert.match(c, /^XL[56]\d\d$/);
  for (const c of Object.keys(REVIEW_CODES)) assert.match(c, /^XL7\d\d$/);
  for (const c of Object.keys(CHECK_CODES)) assert.match(c, /^XL9\d\d$/);
  for (const [c, meaning] of Object.entries(RETIRED_CODES)) {
    assert.match(meaning, /^retired: /, c);
    assert.match(doc, new RegExp(`^\\| ${c} \\| – \\|`, "m"), `${c} is documented as retired`);
  }
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

test("every XL code literal in src/ is registered, and no retired code is used", () => {
  const used = new Set<string>();
  for (const file of sources(path.join(repoRoot, "src"))) {
    for (const m of readFileSync(file, "utf8").matchAll(/["'`](XL\d{3})["'`]/g)) used.add(m[1]!);
  }
  assert.ok(used.size > 40, `${used.size} codes found`);
  assert.deepEqual([...used].filter((c) => !(c in ALL_CODES)).sort(), []);
  assert.deepEqual(
    [...used].filter((c) => c in RETIRED_CODES),
    [],
  );
});
