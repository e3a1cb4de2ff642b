/**
 * Tolerant readings of a topology, for comparing revisions rather than
 * validating them (the review): the draft normalised without the schema's
 * verdict or the rules, so a revision with errors still says what it asks
 * for. Never throw; `undefined` means nothing could be read.
 */
import path from "node:path";
import yaml from "js-yaml";
import { loadAnchors, type ReadFile } from "./anchors.js";
import { toDraft } from "./draft.js";
import type { LoadInput } from "./load.js";
import { normalise } from "./normalise.js";
import { DEFAULT_MAX_BYTES, parseYaml, type SourceMap } from "./parse.js";
import type { Topology } from "./types.js";

const noReader: ReadFile = () => Promise.reject(new Error("no reader"));
const NO_POSITIONS: SourceMap = {
  value: () => ({ line: 1, col: 1 }),
  key: () => ({ line: 1, col: 1 }),
  has: () => false,
};
const ALIAS = /(^|[\s[{,:-])[&*][^\s,\]}]/m;

async function normaliseData(input: LoadInput, data: unknown, map: SourceMap): Promise<Topology> {
  const draft = toDraft(data);
  const { anchors } = await loadAnchors(draft, map, {
    file: input.file,
    baseDir: input.baseDir ?? path.dirname(input.file),
    readFile: input.readFile ?? noReader,
    now: input.now === undefined ? Date.now() : new Date(input.now).getTime(),
  });
  return normalise(draft, anchors, map, input.file);
}

/** The document as written, with positions, whatever the schema and rules say of it (undefined when the YAML does not parse). */
export async function readTolerant(input: LoadInput): Promise<Topology | undefined> {
  try {
    const parsed = parseYaml(input.file, input.text, input.limits);
    if (parsed.data === undefined) return undefined;
    return await normaliseData(input, parsed.data, parsed.map);
  } catch {
    return undefined;
  }
}

/**
 * A fast reading for comparison only: js-yaml, no positions, schema or rules.
 * Undefined when the fast path does not apply (YAML anchors or aliases, over
 * the loader's size limit, a parse error): take the full loader then.
 */
export async function readForComparison(input: LoadInput): Promise<Topology | undefined> {
  const text = typeof input.text === "string" ? input.text : Buffer.from(input.text).toString("utf8");
  if (text.length > DEFAULT_MAX_BYTES || ALIAS.test(text)) return undefined;
  try {
    return await normaliseData(input, yaml.load(text, { schema: yaml.CORE_SCHEMA }), NO_POSITIONS);
  } catch {
    return undefined;
  }
}
