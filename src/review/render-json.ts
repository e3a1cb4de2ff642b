/** The review as versioned JSON (no secret values: topologies hold none, and live plans are redacted). */
import { countByKind } from "./describe.js";
import { problemCounts } from "./review.js";
import type { Review } from "./types.js";

/** Version of the review JSON document; bumped on incompatible changes. */
export const REVIEW_FORMAT_VERSION = 1;

/** The review as a JSON-ready object; `live` is the engine's plan JSON when `--live` ran. */
export function reviewJson(review: Review, live?: Record<string, unknown>): Record<string, unknown> {
  return {
    formatVersion: REVIEW_FORMAT_VERSION,
    kind: "crosslink.plan",
    file: review.file,
    base: review.base,
    head: review.head,
    summary: {
      changes: review.changes.length,
      byKind: countByKind(review.changes),
      ...problemCounts(review),
      massPruneAllowed: review.massPruneAllowed,
    },
    findings: review.findings,
    diagnostics: review.diagnostics.map((d) => ({
      severity: d.severity,
      code: d.code,
      message: d.message,
      ...(d.hint ? { hint: d.hint } : {}),
      file: d.file,
      line: d.line,
      col: d.col,
    })),
    changes: review.changes,
    graph: review.graph,
    ...(live ? { live } : {}),
  };
}
