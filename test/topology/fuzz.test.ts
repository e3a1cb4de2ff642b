/**
 * Fuzzing the loader: thousands of deterministic mutations of the examples
 * (deleted keys, swapped types, duplicated items, garbage bytes, truncation).
 * The loader must never throw, never hit its internal-error net, and always
 * return a topology or at least one located diagnostic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse, stringify } from "yaml";
import { loadTopology } from "../../src/topology/load.js";
import { ROOT } from "./helpers.js";
import { prng } from "../support/prng.js";

const EXAMPLES = path.join(ROOT, "examples");
const sources = readdirSync(EXAMPLES)
  .map((d) => path.join(EXAMPLES, d, "multicluster.yaml"))
  .filter((f) => {
    try {
      readFileSync(f);
      return true;
    } catch {
      return false;
    }
  })
  .map((f) => ({ dir: path.dirname(f), text: readFileSync(f, "utf8") }));

const SWAPS: unknown[] = [
  null,
  0,
  -1,
  1.5,
  true,
  "",
  "x".repeat(70),
  [],
  {},
  [1, "a"],
  { a: 1 },
  "UPPER",
  "168h",
  "east",
  "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
];

function structural(data: unknown, rnd: () => number): unknown {
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        nodes.push({ parent: v, key: i });
        visit(x);
      });
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        nodes.push({ parent: v as Record<string, unknown>, key: k });
        visit(x);
      }
    }
  };
  visit(data);
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n && nodes.length; i++) {
    const pick = nodes[Math.floor(rnd() * nodes.length)];
    if (!pick) continue;
    const { parent, key } = pick;
    const op = Math.floor(rnd() * 4);
    if (Array.isArray(parent)) {
      const idx = key as number;
      if (op === 0) parent.splice(idx, 1);
      else if (op === 1) parent.splice(idx, 0, structuredClone(parent[idx]));
      else parent[idx] = SWAPS[Math.floor(rnd() * SWAPS.length)];
    } else {
      if (op === 0) delete parent[key as string];
      else if (op === 1) parent[`${String(key)}x`] = parent[key as string];
      else parent[key as string] = SWAPS[Math.floor(rnd() * SWAPS.length)];
    }
  }
  return data;
}

function textual(text: string, rnd: () => number): string {
  const op = Math.floor(rnd() * 5);
  const at = Math.floor(rnd() * text.length);
  if (op === 0) return text.slice(0, at);
  if (op === 1) {
    const garbage = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () =>
      String.fromCharCode(Math.floor(rnd() * 256)),
    ).join("");
    return text.slice(0, at) + garbage + text.slice(at);
  }
  if (op === 2) {
    const lines = text.split("\n");
    const i = Math.floor(rnd() * lines.length);
    lines.splice(i, 0, lines[i] ?? "");
    return lines.join("\n");
  }
  if (op === 3) {
    const chars = ":-[]{}&*!|>'\"#%@`,? \t\n";
    return text.slice(0, at) + (chars[Math.floor(rnd() * chars.length)] ?? "") + text.slice(at + 1);
  }
  const lines = text.split("\n");
  lines.splice(Math.floor(rnd() * lines.length), 1);
  return lines.join("\n");
}

test("the loader survives thousands of mutations of the examples", async () => {
  const rnd = prng(0xc0ffee);
  const ITERATIONS = 3000;
  const anchorCache = new Map<string, Buffer>();
  const readFile = async (p: string) => {
    let b = anchorCache.get(p);
    if (!b) {
      b = readFileSync(p);
      anchorCache.set(p, b);
    }
    return b;
  };
  let valid = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const src = sources[i % sources.length];
    assert.ok(src);
    let text: string | Uint8Array;
    if (i % 2 === 0) text = stringify(structural(parse(src.text), rnd));
    else text = textual(src.text, rnd);
    if (i % 7 === 0) text = new TextEncoder().encode(typeof text === "string" ? text : "");
    let r;
    try {
      r = await loadTopology({
        file: "fuzz.yaml",
        text,
        baseDir: src.dir,
        readFile,
        now: Date.parse("2030-01-01T00:00:00Z"),
      });
    } catch (err) {
      assert.fail(`iteration ${i} threw: ${String(err)}\n${typeof text === "string" ? text : "(bytes)"}`);
    }
    if (r.topology) {
      valid++;
      assert.ok(r.diagnostics.every((d) => d.severity === "warning"));
    } else {
      assert.ok(r.diagnostics.length > 0, `iteration ${i}: no topology and no diagnostics`);
    }
    for (const d of r.diagnostics) {
      assert.notEqual(
        d.code,
        "XL199",
        `iteration ${i}: internal error ${d.message}\n${typeof text === "string" ? text : ""}`,
      );
      assert.ok(
        Number.isInteger(d.line) && d.line >= 1 && Number.isInteger(d.col) && d.col >= 1,
        `iteration ${i}: bad position ${JSON.stringify(d)}`,
      );
      assert.match(d.code, /^XL\d{3}$/);
    }
  }
  assert.ok(valid > 0 && valid < ITERATIONS, `some mutants stay valid, most do not (valid: ${valid})`);
});
