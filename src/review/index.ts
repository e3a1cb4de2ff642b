/** The review stage's public API: topology-level changes, safety rules and renderers for `crosslink plan`. */
export { topologyChanges, reviewGraph, weightChanges } from "./changes.js";
export { loadForReview, type ReviewLoad } from "./load.js";
export {
  buildReview,
  emptyTopology,
  problemCounts,
  reviewExitCode,
  reviewFails,
  type ReviewInput,
  type ReviewSide,
} from "./review.js";
export {
  safetyFindings,
  MASS_PRUNE_TRAILER,
  MASS_REMOVAL_MIN,
  MASS_REMOVAL_SHARE,
  type ObservedIssuer,
  type SafetyOptions,
} from "./safety.js";
export { mermaidDiagram, MAX_DIAGRAM_EDGES } from "./mermaid.js";
export { renderReviewHuman } from "./render-human.js";
export { renderReviewMarkdown, COMMENT_MARKER } from "./render-markdown.js";
export { reviewJson, reviewJson as renderReviewJson, REVIEW_FORMAT_VERSION } from "./render-json.js";
export type * from "./types.js";
