/**
 * Assembles a review from the two loaded revisions: diff, safety rules and
 * the graph, plus the exit code it implies. Pure.
 */
import { hasErrors, type Diagnostic } from "../diagnostics.js";
import type { Topology } from "../topology/types.js";
import { topologyChanges, reviewGraph } from "./changes.js";
import type { ReviewLoad } from "./load.js";
import { safetyFindings, type ObservedIssuer } from "./safety.js";
import type { Review, ReviewFinding } from "./types.js";
import { sortFindings } from "../engine/plan/plan.js";

/** One loaded revision. */
export interface ReviewSide {
  rev: string;
  oid: string;
  load: ReviewLoad;
}

/** Input of `buildReview`. */
export interface ReviewInput {
  /** The topology file's path in the repository. */
  file: string;
  base: ReviewSide;
  head: ReviewSide;
  /** Whether the head commit carries the `crosslink: allow-mass-prune` trailer. */
  massPruneAllowed: boolean;
  /** Observed issuers, with `--live`. */
  issuers?: readonly ObservedIssuer[];
}

/** A topology with nothing in it: the base of a file that did not load. */
export function emptyTopology(name = ""): Topology {
  return {
    apiVersion: "crosslink.dev/v1alpha1",
    kind: "Topology",
    name,
    manageTrust: false,
    trustAnchors: [],
    clusters: [],
    links: [],
    exports: [],
    splits: [],
    positions: () => undefined,
  };
}

/** Builds the review: every change, every safety finding, head's diagnostics and the graph. */
export function buildReview(input: ReviewInput): Review {
  const findings: ReviewFinding[] = [];
  const headTopology = input.head.load.topology;
  let baseTopology = input.base.load.topology;
  if (!baseTopology) {
    findings.push({
      code: "XL707",
      severity: "warning",
      message: `${input.file} does not load at base ${input.base.rev}: every item at head is shown as added`,
      explanation:
        "The base revision's topology could not be read, so the review compares head with an empty topology.",
    });
    baseTopology = emptyTopology(headTopology?.name);
  }
  const head = headTopology ?? emptyTopology(baseTopology.name);
  const changes = headTopology ? topologyChanges(baseTopology, head) : [];
  if (headTopology)
    findings.push(
      ...safetyFindings(baseTopology, head, changes, {
        massPruneAllowed: input.massPruneAllowed,
        ...(input.issuers ? { issuers: input.issuers } : {}),
      }),
    );
  return {
    file: input.file,
    base: {
      rev: input.base.rev,
      oid: input.base.oid,
      valid: input.base.load.valid,
      ...(input.base.load.topology ? { topology: input.base.load.topology.name } : {}),
    },
    head: {
      rev: input.head.rev,
      oid: input.head.oid,
      valid: input.head.load.valid,
      ...(headTopology ? { topology: headTopology.name } : {}),
    },
    changes,
    findings: sortFindings(findings),
    diagnostics: input.head.load.diagnostics,
    graph: reviewGraph(baseTopology, head, changes),
    massPruneAllowed: input.massPruneAllowed,
  };
}

/** Whether the review fails: a safety error or an error diagnostic at head. */
export function reviewFails(review: Review): boolean {
  return review.findings.some((f) => f.severity === "error") || hasErrors(review.diagnostics) || !review.head.valid;
}

/** Error and warning counts over findings and head diagnostics. */
export function problemCounts(review: Review): { errors: number; warnings: number } {
  const all: { severity: string }[] = [...review.findings, ...(review.diagnostics as Diagnostic[])];
  return {
    errors: all.filter((x) => x.severity === "error").length,
    warnings: all.filter((x) => x.severity === "warning").length,
  };
}

/** The exit code, like `diff`: 1 on errors, 2 when something changes, 0 when nothing does. */
export function reviewExitCode(review: Review, live?: { changes: boolean; errors: boolean }): 0 | 1 | 2 {
  if (reviewFails(review) || live?.errors) return 1;
  return review.changes.length || live?.changes ? 2 : 0;
}
