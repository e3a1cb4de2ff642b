/** The plan as Markdown: summary first, findings on top, one collapsible section per cluster. */
import type { Plan } from "../engine/plan/actions.js";
import { actionSymbol, actionTitle, countPlan, describeCounts } from "./summary.js";
import { escapeControls } from "../util/escape.js";
import { showChange } from "./values.js";

const ICON = { error: "❌", warning: "⚠️", info: "ℹ️" };

/** Escapes text for a Markdown table cell or line (control characters included). */
export function mdEscape(text: string): string {
  return escapeControls(text).replace(/[|<>]/g, (c) => ({ "|": "\\|", "<": "&lt;", ">": "&gt;" })[c]!);
}

/** The plan in Markdown, for a pull-request comment or a CI summary. */
export function renderPlanMarkdown(plan: Plan, title = `crosslink plan for \`${plan.topology}\``): string {
  const total = countPlan(plan.clusters);
  const out: string[] = [
    `### ${title}`,
    "",
    `**${describeCounts(total)}**${total.unreachable ? ` — ${total.unreachable} cluster(s) unreachable` : ""}`,
    "",
  ];
  const findings = plan.clusters.flatMap((c) => [
    ...(c.error ? [`- ❌ **${c.cluster}** unreachable: ${mdEscape(c.error)}`] : []),
    ...c.findings.map((f) => `- ${ICON[f.severity]} \`${f.code}\` ${mdEscape(f.message)}`),
  ]);
  if (findings.length) out.push(...findings, "");
  out.push(
    "| cluster | create | update | replace | delete | credentials | unchanged |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  for (const c of plan.clusters) {
    const n = countPlan([c]);
    out.push(
      `| ${c.cluster} | ${n.create} | ${n.update} | ${n.replace} | ${n.delete} | ${n.credentials} | ${c.error ? "unreachable" : n.unchanged} |`,
    );
  }
  out.push("");
  for (const c of plan.clusters) {
    if (!c.actions.length) continue;
    out.push(`<details><summary><b>${c.cluster}</b>: ${describeCounts(countPlan([c]))}</summary>`, "", "```diff");
    for (const a of c.actions) {
      const sym = a.type === "delete" ? "-" : a.type === "create" ? "+" : "!";
      out.push(`${sym} ${actionSymbol(a)} ${actionTitle(a)}${a.type === "create" ? "" : ` (${a.reason})`}`);
      if (a.type === "update" || a.type === "replace") for (const ch of a.changes) out.push(`    ${showChange(ch)}`);
    }
    out.push("```", "", "</details>", "");
  }
  return escapeControls(out.join("\n"), true);
}
