/** The plan and the change set for a terminal. */
import type { ChangeSet } from "../engine/apply.js";
import type { Finding } from "../engine/render/desired.js";
import type { Action, Plan } from "../engine/plan/actions.js";
import { actionSymbol, actionTitle, countPlan, describeCounts } from "./summary.js";
import { escapeControls } from "../util/escape.js";
import { showChange } from "./values.js";

function findingLines(findings: readonly Finding[], indent: string): string[] {
  return findings.flatMap((f) => {
    const head = `${indent}! ${f.severity} ${f.code}: ${f.message}`;
    return f.hint ? [head, `${indent}  hint: ${f.hint}`] : [head];
  });
}

function actionLines(a: Action, indent: string): string[] {
  const lines = [`${indent}${actionSymbol(a)} ${actionTitle(a)}${a.type === "create" ? "" : `  (${a.reason})`}`];
  if (a.type === "update" || a.type === "replace")
    for (const c of a.changes) lines.push(`${indent}    ${showChange(c)}`);
  return lines;
}

/** The plan, per cluster: `+ ~ -` per object, changed fields (secrets as `(sensitive)`), findings, and a summary line. */
export function renderPlanHuman(plan: Plan): string {
  const out: string[] = [`Plan for topology ${plan.topology}`, ""];
  for (const cp of plan.clusters) {
    if (cp.error) {
      out.push(`cluster ${cp.cluster}: UNREACHABLE — ${cp.error}`, "");
      continue;
    }
    const counts = countPlan([cp]);
    out.push(
      `cluster ${cp.cluster}: ${describeCounts(counts)}; ${cp.unchanged} unchanged${cp.blocked ? " — BLOCKED" : ""}`,
    );
    out.push(...findingLines(cp.findings, "  "));
    for (const a of cp.actions) out.push(...actionLines(a, "  "));
    out.push("");
  }
  const total = countPlan(plan.clusters);
  const tail = [
    total.unreachable && `${total.unreachable} cluster(s) unreachable`,
    total.errors && `${total.errors} error(s)`,
    total.warnings && `${total.warnings} warning(s)`,
  ].filter(Boolean);
  out.push(`Plan: ${describeCounts(total)}.${tail.length ? ` ${tail.join(", ")}.` : ""}`);
  return escapeControls(out.join("\n") + "\n", true);
}

/** What apply did, per cluster, and whether every cluster converged. */
export function renderChangeSetHuman(cs: ChangeSet): string {
  const out: string[] = [cs.dryRun ? "Dry run (server-side): nothing was persisted." : "Applied:", ""];
  for (const c of cs.clusters) {
    const done = c.results.filter((r) => r.status === "done").length;
    const failed = c.results.filter((r) => r.status === "failed").length;
    const state = c.converged ? "converged" : "NOT converged";
    out.push(
      `cluster ${c.cluster}: ${state}; ${done} change(s) made${failed ? `, ${failed} failed` : ""}${c.error ? ` — ${c.error}` : ""}`,
    );
    for (const r of c.results) {
      const mark = r.status === "done" ? "✓" : r.status === "failed" ? "✗" : "·";
      out.push(`  ${mark} ${actionSymbol(r.action)} ${actionTitle(r.action)}${r.error ? `: ${r.error}` : ""}`);
    }
  }
  const bad = cs.clusters.filter((c) => !c.converged).map((c) => c.cluster);
  out.push("", bad.length ? `Not converged: ${bad.join(", ")}.` : `All ${cs.clusters.length} cluster(s) converged.`);
  return escapeControls(out.join("\n") + "\n", true);
}
