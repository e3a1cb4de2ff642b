/**
 * `crosslink check`'s output: for a terminal, one section per category with
 * ✓ ‼ × per check, what was found and a hint under each warning and failure,
 * then the counts and the requests made per cluster; as JSON, the shape of
 * `linkerd check -o json` (categories of checks with result, error, hint)
 * plus codes, counts and figures. Neither ever holds a token: the facts do
 * not have one.
 */
import { escapeControls } from "../util/escape.js";
import { checkExitCode, countResults } from "./run-checks.js";
import type { CheckResult, CheckStatus } from "./types.js";

/** Figures of a check run: wall time and requests per cluster (crosslink's, and those made with link credentials). */
export interface CheckFigures {
  ms: number;
  requests: Record<string, { crosslink: number; credentials: number }>;
}

const SYMBOL: Record<CheckStatus, string> = { ok: "✓", warn: "‼", fail: "×" };

/** Results grouped by category, in first-seen order. */
function byCategory(results: readonly CheckResult[]): [string, CheckResult[]][] {
  const groups = new Map<string, CheckResult[]>();
  for (const r of results) groups.set(r.category, [...(groups.get(r.category) ?? []), r]);
  return [...groups];
}

/** The human report. */
export function renderCheckHuman(topology: string, results: readonly CheckResult[], figures?: CheckFigures): string {
  const out: string[] = [`crosslink check: topology ${topology}`, ""];
  for (const [category, checks] of byCategory(results)) {
    out.push(category, "-".repeat(category.length));
    for (const r of checks) {
      out.push(`${SYMBOL[r.status]} ${r.title}${r.status === "ok" && r.detail ? ` (${r.detail})` : ""}`);
      if (r.status === "ok") continue;
      for (const line of (r.detail ?? "").split("\n")) if (line) out.push(`    ${line}`);
      out.push(`    ${r.code}${r.hint ? ` hint: ${r.hint}` : ""}`);
    }
    out.push("");
  }
  const c = countResults(results);
  const verdict = checkExitCode(results) === 0 ? SYMBOL.ok : checkExitCode(results) === 2 ? SYMBOL.warn : SYMBOL.fail;
  out.push(`Status check results are ${verdict}: ${results.length} checks, ${c.ok} ✓, ${c.warn} ‼, ${c.fail} ×`);
  if (figures) {
    const per = Object.entries(figures.requests)
      .map(([k, v]) => `${k} ${v.crosslink}${v.credentials ? ` + ${v.credentials} with link credentials` : ""}`)
      .join(", ");
    out.push(`${(figures.ms / 1000).toFixed(1)} s; requests: ${per}`);
  }
  return escapeControls(out.join("\n") + "\n", true);
}

/** The JSON report. */
export function checkJson(topology: string, results: readonly CheckResult[], figures?: CheckFigures): unknown {
  const result = { ok: "success", warn: "warning", fail: "error" } as const;
  return {
    topology,
    success: checkExitCode(results) !== 1,
    counts: countResults(results),
    categories: byCategory(results).map(([categoryName, checks]) => ({
      categoryName,
      checks: checks.map((r) => ({
        description: r.title,
        result: result[r.status],
        ...(r.code ? { code: r.code } : {}),
        ...(r.detail ? { [r.status === "ok" ? "detail" : "error"]: r.detail } : {}),
        ...(r.hint ? { hint: r.hint } : {}),
      })),
    })),
    ...(figures ? { figures } : {}),
  };
}
