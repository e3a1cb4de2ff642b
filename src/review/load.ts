/**
 * Loading for review: the normal loader first; when the revision has errors,
 * a tolerant reading (the loader's draft, normalised without its rules) so
 * the review can still say in review terms what the change does, e.g. that a
 * split still uses a link the change removes.
 */
import { hasErrors, type Diagnostic } from "../diagnostics.js";
import { loadTopology, readForComparison, readTolerant, type LoadInput } from "../topology/index.js";
import type { Topology } from "../topology/types.js";

/** A revision's topology for review: `valid` false means `topology` is a best-effort reading. */
export interface ReviewLoad {
  topology?: Topology;
  diagnostics: Diagnostic[];
  valid: boolean;
}

/** Loads a topology; on errors, falls back to a tolerant reading of the same text. */
export async function loadForReview(input: LoadInput): Promise<ReviewLoad> {
  const { topology, diagnostics } = await loadTopology(input);
  if (topology && !hasErrors(diagnostics)) return { topology, diagnostics, valid: true };
  const tolerant = await readTolerant(input);
  return { diagnostics, valid: false, ...(tolerant ? { topology: tolerant } : {}) };
}

/**
 * Reads the base revision for comparison only: no positions, schema or rules
 * (the base is already merged; its diagnostics are not the reviewer's
 * concern), with the faster js-yaml parser. Documents using YAML anchors or
 * aliases, or over the loader's size limit, take the full loader instead.
 * `valid` means "read", not "validated".
 */
export async function loadBaseForReview(input: LoadInput): Promise<ReviewLoad> {
  const topology = await readForComparison(input);
  return topology ? { topology, diagnostics: [], valid: true } : loadForReview(input);
}
