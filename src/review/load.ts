/**
 * Loading for review: the normal loader first; when the revision has errors,
 * a tolerant reading (the loader's draft, normalised without its rules) so
 * the review can still say in review terms what the change does, e.g. that a
 * split still uses a link the change removes.
 */
import path from "node:path";
import yaml from "js-yaml";
import { hasErrors, type Diagnostic } from "../diagnostics.js";
import { loadAnchors } from "../topology/anchors.js";
import { toDraft } from "../topology/draft.js";
import { loadTopology, type LoadInput } from "../topology/index.js";
import { normalise } from "../topology/normalise.js";
import { DEFAULT_MAX_BYTES, parseYaml, type SourceMap } from "../topology/parse.js";
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
  return { diagnostics, valid: false, ...(await tolerant(input)) };
}

async function tolerant(input: LoadInput): Promise<{ topology?: Topology }> {
  try {
    const parsed = parseYaml(input.file, input.text, input.limits);
    if (parsed.data === undefined) return {};
    const draft = toDraft(parsed.data);
    const { anchors } = await loadAnchors(draft, parsed.map, {
      file: input.file,
      baseDir: input.baseDir ?? path.dirname(input.file),
      readFile: input.readFile ?? (() => Promise.reject(new Error("no reader"))),
      now: input.now === undefined ? Date.now() : new Date(input.now).getTime(),
    });
    return { topology: normalise(draft, anchors, parsed.map, input.file) };
  } catch {
    return {};
  }
}

const NO_POSITIONS: SourceMap = { value: () => ({ line: 1, col: 1 }), key: () => ({ line: 1, col: 1 }), has: () => false };
const ALIAS = /(^|[\s[{,:-])[&*][^\s,\]}]/m;

/**
 * Reads the base revision for comparison only: no positions, schema or rules
 * (the base is already merged; its diagnostics are not the reviewer's
 * concern), with the faster js-yaml parser. Documents using YAML anchors or
 * aliases, or over the loader's size limit, take the full loader instead.
 * `valid` means "read", not "validated".
 */
export async function loadBaseForReview(input: LoadInput): Promise<ReviewLoad> {
  const text = typeof input.text === "string" ? input.text : Buffer.from(input.text).toString("utf8");
  if (text.length > DEFAULT_MAX_BYTES || ALIAS.test(text)) return loadForReview(input);
  let data: unknown;
  try {
    data = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch {
    return loadForReview(input);
  }
  try {
    const draft = toDraft(data);
    const { anchors } = await loadAnchors(draft, NO_POSITIONS, {
      file: input.file,
      baseDir: input.baseDir ?? path.dirname(input.file),
      readFile: input.readFile ?? (() => Promise.reject(new Error("no reader"))),
      now: input.now === undefined ? Date.now() : new Date(input.now).getTime(),
    });
    return { topology: normalise(draft, anchors, NO_POSITIONS, input.file), diagnostics: [], valid: true };
  } catch {
    return loadForReview(input);
  }
}
