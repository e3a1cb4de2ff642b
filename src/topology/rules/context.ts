/** What every semantic rule receives: the draft, where things are, and a sink for diagnostics. */
import type { Diagnostic, Severity } from "../../diagnostics.js";
import type { Code } from "../codes.js";
import { diag } from "../diag.js";
import type { Draft } from "../draft.js";
import type { SourceMap } from "../parse.js";

/** Input and output of one rule run. */
export interface RuleContext {
  file: string;
  draft: Draft;
  map: SourceMap;
  /** Cluster names declared (first declaration's index), for reference checks. */
  clusters: ReadonlyMap<string, number>;
  report(code: Code, pointer: string, message: string, hint: string, severity?: Severity, at?: "key" | "value"): void;
}

/** A semantic rule: reads the context and reports problems. */
export type Rule = (ctx: RuleContext) => void;

/** Builds a rule context whose `report` appends located diagnostics to `out`. */
export function ruleContext(file: string, draft: Draft, map: SourceMap, out: Diagnostic[]): RuleContext {
  const clusters = new Map<string, number>();
  for (const c of draft.clusters) if (c.name !== undefined && !clusters.has(c.name)) clusters.set(c.name, c.index);
  return {
    file,
    draft,
    map,
    clusters,
    report(code, pointer, message, hint, severity = "error", at = "value") {
      out.push(
        diag(code, file, at === "key" ? map.key(pointer) : map.value(pointer), message, hint, severity, pointer),
      );
    },
  };
}

/** Reports an unknown-cluster reference unless `name` is declared; returns whether it resolves. */
export function checkClusterRef(ctx: RuleContext, name: string | undefined, pointer: string, role: string): boolean {
  if (name === undefined) return false;
  if (ctx.clusters.has(name)) return true;
  const known = [...ctx.clusters.keys()];
  ctx.report(
    "XL202",
    pointer,
    `${role} \`${name}\` is not a declared cluster`,
    known.length
      ? `declare it under spec.clusters or use one of: ${known.slice(0, 10).join(", ")}${known.length > 10 ? ", …" : ""}`
      : "declare it under spec.clusters",
  );
  return false;
}
