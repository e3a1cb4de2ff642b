/**
 * The review as a pull-request comment: summary first, errors and warnings on
 * top, a Mermaid diagram of the mesh, a weights table, then one collapsible
 * section per cluster. Carries a marker so CI can find and update its comment.
 */
import { mdEscape } from "../report/markdown.js";
import { changeSymbol, changeTitle, changesBySection, describeChanges, revLabel, weightMoved } from "./describe.js";
import { mermaidDiagram } from "./mermaid.js";
import { showWeight } from "./render-human.js";
import { problemCounts } from "./review.js";
import type { Review } from "./types.js";

/** The HTML comment that marks crosslink's plan comment (CI updates the comment carrying it). */
export const COMMENT_MARKER = "<!-- crosslink-plan -->";

const ICON = { error: "❌", warning: "⚠️", info: "ℹ️" } as const;
const SYMBOL = { "+": "➕", "-": "➖", "~": "✏️" } as const;

/** The review in Markdown; `extra` (e.g. the live plan's Markdown) is appended at the end. */
export function renderReviewMarkdown(review: Review, extra?: string): string {
  const { errors, warnings } = problemCounts(review);
  const name = review.head.topology ?? review.base.topology ?? review.file;
  const status = errors
    ? `❌ **${errors} error${errors === 1 ? "" : "s"}** — this change must not merge as it is`
    : warnings
      ? `⚠️ ${warnings} warning${warnings === 1 ? "" : "s"}`
      : "✅ no problems found";
  const out = [
    COMMENT_MARKER,
    `### crosslink plan for \`${mdEscape(name)}\``,
    "",
    `${mdEscape(revLabel(review.base, true))} → ${mdEscape(revLabel(review.head, true))} · \`${mdEscape(review.file)}\``,
    "",
    `**${describeChanges(review)}** · ${status}`,
    "",
  ];
  const problems = [
    ...review.findings.map(
      (f) => `- ${ICON[f.severity]} \`${f.code}\` ${mdEscape(f.message)}\n  <br><sub>${mdEscape(f.explanation)}</sub>`,
    ),
    ...review.diagnostics.map(
      (d) =>
        `- ${ICON[d.severity]} \`${d.code}\` \`${mdEscape(`${d.file}:${d.line}:${d.col}`)}\` ${mdEscape(d.message)}${d.hint ? `\n  <br><sub>hint: ${mdEscape(d.hint)}</sub>` : ""}`,
    ),
  ];
  if (problems.length) out.push("#### Errors and warnings", "", ...problems, "");
  if (review.graph.nodes.length) {
    out.push(
      "#### Topology",
      "",
      "```mermaid",
      mermaidDiagram(review.graph),
      "```",
      "",
      "<sub>An arrow A → B: A mirrors the services B exports. Thick green: added link; dashed red: removed; orange: changed.</sub>",
      "",
    );
  }
  const splits = review.changes.filter(
    (c) => c.kind === "split-added" || c.kind === "split-removed" || c.kind === "split-changed",
  );
  if (splits.length) {
    out.push("#### Split weights", "", "| cluster | split | backend | before | after |", "|---|---|---|---:|---:|");
    for (const s of splits) {
      for (const w of s.weights) {
        const after = weightMoved(w) ? `**${showWeight(w, "after")}**` : showWeight(w, "after");
        out.push(
          `| ${mdEscape(s.cluster)} | ${mdEscape(`${s.namespace}/${s.service}`)} | ${mdEscape(w.backend)} | ${showWeight(w, "before")} | ${after} |`,
        );
      }
    }
    out.push("");
  }
  const bad = new Set(review.findings.filter((f) => f.severity === "error" && f.cluster).map((f) => f.cluster!));
  if (review.changes.length) out.push("#### Changes", "");
  for (const section of changesBySection(review.changes)) {
    const label = section.cluster ?? "mesh-wide";
    const n = section.changes.length;
    out.push(
      `<details${section.cluster && bad.has(section.cluster) ? " open" : ""}><summary><b>${mdEscape(label)}</b>: ${n} change${n === 1 ? "" : "s"}</summary>`,
      "",
    );
    for (const c of section.changes) {
      out.push(`- ${SYMBOL[changeSymbol(c)]} ${mdEscape(changeTitle(c))}`);
      for (const i of c.implications) out.push(`  - ${mdEscape(i)}`);
    }
    out.push("", "</details>", "");
  }
  if (extra) out.push(extra, "");
  return out.join("\n");
}
