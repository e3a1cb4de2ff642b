// The import graph of src/ (madge, TypeScript imports including type-only and
// dynamic ones): fails on any circular import, and on any module the shipped
// entry point (src/cli/main.ts, what bin/crosslink.js runs) cannot reach,
// i.e. a module only tests (or nothing) import.
import madge from "madge";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ENTRIES = ["cli/main.ts"];

const graph = await madge(path.join(root, "src"), {
  fileExtensions: ["ts"],
  tsConfig: path.join(root, "tsconfig.json"),
});
const deps = graph.obj();
let failed = false;

const circles = graph.circular();
for (const c of circles) console.error(`circular import: ${c.map((f) => `src/${f}`).join(" → ")} → src/${c[0]}`);
if (circles.length) failed = true;

const reached = new Set();
const stack = [...ENTRIES];
while (stack.length) {
  const f = stack.pop();
  if (reached.has(f)) continue;
  reached.add(f);
  stack.push(...(deps[f] ?? []));
}
const unreached = Object.keys(deps)
  .filter((f) => !reached.has(f))
  .sort();
for (const f of unreached)
  console.error(
    `src/${f}: not reachable from ${ENTRIES.map((e) => `src/${e}`).join(", ")} (imported only by tests, or by nothing)`,
  );
if (unreached.length) failed = true;

const skipped = graph.warnings().skipped ?? [];
for (const s of skipped) console.error(`unresolved import: ${s}`);
if (skipped.length) failed = true;

console.log(
  `${Object.keys(deps).length} modules in src/, ${circles.length} circular imports, ${unreached.length} unreachable from the entry point`,
);
process.exitCode = failed ? 1 : 0;
