/** The review for a terminal: summary, problems on top, then changes with their implications and weights. */
import { formatDiagnostics } from "../diagnostics.js";
import { changeSymbol, changeTitle, describeChanges, revLabel } from "./describe.js";
import { problemCounts } from "./review.js";
import type { Review, TopologyChange, WeightChange } from "./types.js";

/** `50 (50%)`, or `—` when the backend is absent on that side. */
export function showWeight(w: WeightChange, side: "before" | "after"): string {
  const v = w[side];
  return v === undefined ? "—" : `${v} (${w[side === "before" ? "beforePercent" : "afterPercent"] ?? 0}%)`;
}

function weightLines(c: TopologyChange): string[] {
  if (c.kind !== "split-added" && c.kind !== "split-removed" && c.kind !== "split-changed") return [];
  const width = Math.max(...c.weights.map((w) => w.backend.length));
  return c.weights.map(
    (w) => `      ${w.backend.padEnd(width)}  ${showWeight(w, "before")} → ${showWeight(w, "after")}`,
  );
}

/** The review as plain text. */
export function renderReviewHuman(review: Review): string {
  const { errors, warnings } = problemCounts(review);
  const out = [
    `crosslink plan: ${review.file} ${revLabel(review.base)} → ${revLabel(review.head)}${review.head.topology ? `, topology ${review.head.topology}` : ""}`,
    `${describeChanges(review)}; ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`,
    "",
  ];
  if (review.findings.length) {
    out.push("Safety:");
    for (const f of review.findings) out.push(`  ${f.severity} ${f.code}: ${f.message}`, `    why: ${f.explanation}`);
    out.push("");
  }
  if (review.diagnostics.length) {
    out.push(
      `Validation at ${review.head.rev}:`,
      ...formatDiagnostics(review.diagnostics)
        .split("\n")
        .map((l) => `  ${l}`),
      "",
    );
  }
  if (review.changes.length) {
    out.push("Changes:");
    for (const c of review.changes) {
      out.push(
        `  ${changeSymbol(c)} ${changeTitle(c)}`,
        ...weightLines(c),
        ...c.implications.map((i) => `      • ${i}`),
      );
    }
    out.push("");
  }
  return out.join("\n");
}
