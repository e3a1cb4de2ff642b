// The import graph of src/ (madge, TypeScript imports including type-only and
// dynamic ones): fails on any circular import, and on any module the shipped
// entry point (src/cli/main.ts, what bin/crosslink.js runs) cannot reach,
// i.e. a module only tests (or nothing) import. Also fails on memory-heavy
// imports: the root of @kubernetes/client-node anywhere in src/ (~54 MiB of
// RSS; src/kube/kubeconfig.ts deep-imports the few parts it needs), and a
// static import of openpgp (~7 MiB; imported when signatures are verified).
import madge from "madge";
import { readdirSync, readFileSync } from "node:fs";
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

/** Import specifiers src/ may not name, and the kinds of import each rule covers. */
const FORBIDDEN = [
  {
    spec: "@kubernetes/client-node",
    statics: true,
    dynamic: true,
    why: "import a deep path (see src/kube/kubeconfig.ts)",
  },
  { spec: "openpgp", statics: true, dynamic: false, why: 'load it with await import("openpgp") where it is used' },
];
const heavy = [];
for (const f of readdirSync(path.join(root, "src"), { recursive: true })) {
  if (!f.endsWith(".ts")) continue;
  const text = readFileSync(path.join(root, "src", f), "utf8");
  for (const rule of FORBIDDEN) {
    const q = `["']${rule.spec.replace(/[/.]/g, "\\$&")}["']`;
    const statics = new RegExp(`^\\s*(?:import|export)\\s(?!type\\s)[^;]*?\\sfrom\\s+${q}|^\\s*import\\s+${q}`, "m");
    const dynamic = new RegExp(`import\\(\\s*${q}\\s*\\)`);
    if ((rule.statics && statics.test(text)) || (rule.dynamic && dynamic.test(text)))
      heavy.push(`src/${f}: imports ${rule.spec}: ${rule.why}`);
  }
}
for (const h of heavy) console.error(h);
if (heavy.length) failed = true;

console.log(
  `${Object.keys(deps).length} modules in src/, ${circles.length} circular imports, ${unreached.length} unreachable from the entry point, ${heavy.length} forbidden imports`,
);
process.exitCode = failed ? 1 : 0;
