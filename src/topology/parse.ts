/**
 * YAML with positions: turns the topology file's bytes into plain data plus a
 * map from JSON pointers to where each key and value sits in the file. Never
 * throws; every problem becomes a located diagnostic.
 */
import jsyaml from "js-yaml";
import { createRequire } from "node:module";
import type { LineCounter, Node } from "yaml";
import type { Diagnostic } from "../diagnostics.js";
import { diag, type LineCol, type SourceMap } from "./diag.js";

export type { SourceMap };
import {
  contentStart,
  countNodes,
  DEFAULT_MAX_NODES,
  indexPositions,
  lineCounter as offsetToLineCol,
  loadWithPositions,
  NodeLimitError,
} from "./positions.js";

type YamlPackage = typeof import("yaml");
let yamlPackage: YamlPackage | undefined;

/** The \`yaml\` package, loaded on first use: only files of up to CAREFUL_MAX_BYTES need it, and loading it costs about 80 ms. */
function yamlLib(): YamlPackage {
  return (yamlPackage ??= createRequire(import.meta.url)("yaml") as YamlPackage);
}

/** What parsing produced: the data (when the YAML was well formed), its positions and any problems. */
export interface ParseResult {
  data?: unknown;
  map: SourceMap;
  diagnostics: Diagnostic[];
}

/** Limits that bound the work parsing may do on hostile input. */
export interface ParseLimits {
  /** Largest accepted file, in bytes (default 4 MiB). */
  maxBytes?: number;
  /** Most alias expansions accepted while building data (default 100). */
  maxAliasCount?: number;
  /** Deepest nesting of lists and mappings accepted (default 64). */
  maxDepth?: number;
}

/** Default largest topology file accepted: 4 MiB (about 40,000 exports). */
export const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

/** Default deepest nesting accepted: a topology needs about 8 levels. */
export const DEFAULT_MAX_DEPTH = 64;

/**
 * Largest file the position-keeping \`yaml\` parser is run on: its syntax tree
 * costs about 1 µs and 150 bytes per byte of realistic input, and ten times
 * that on hostile input (4 MiB of \`[],\` took 37 s and 3 GiB). Larger files
 * are read by js-yaml alone, with positions from a compact index.
 */
export const CAREFUL_MAX_BYTES = 64 * 1024;

/** Most nodes the data of a file with YAML aliases may expand to when read by js-yaml. */
const MAX_EXPANDED_NODES = 1_000_000;

/** Escapes one JSON-pointer segment (RFC 6901). */
export function escapePointer(segment: string): string {
  return segment.includes("~") || segment.includes("/") ? segment.replace(/~/g, "~0").replace(/\//g, "~1") : segment;
}

const BAD_CHAR = /[\u0000-\u0008\u000E-\u001F\u007F\uFFFD\uFFFE\uFFFF]/;

/** Parses the topology text (string or raw bytes) into data plus positions. */
export function parseYaml(file: string, input: string | Uint8Array, limits: ParseLimits = {}): ParseResult {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const map = NO_POSITIONS;
  const fail = (d: Diagnostic): ParseResult => ({ map, diagnostics: [d] });

  const size = typeof input === "string" ? input.length : input.byteLength;
  if (size > maxBytes) {
    return fail(
      diag(
        "XL102",
        file,
        { line: 1, col: 1 },
        `file is ${size} bytes, more than the ${maxBytes} bytes accepted`,
        "a topology file is a few hundred kilobytes at most; check that the right file was given",
      ),
    );
  }
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      return fail(
        diag("XL101", file, { line: 1, col: 1 }, "file is not valid UTF-8 text", "save the topology as UTF-8 YAML"),
      );
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const bad = BAD_CHAR.exec(text);
  if (bad) {
    const before = text.slice(0, bad.index);
    const line = before.split("\n").length;
    const col = bad.index - before.lastIndexOf("\n");
    const code = bad[0].charCodeAt(0).toString(16).padStart(4, "0");
    return fail(
      diag(
        "XL101",
        file,
        { line, col },
        `file holds a control or invalid character (U+${code}); it is not a text file`,
        "remove the binary bytes; the topology must be plain UTF-8 YAML",
      ),
    );
  }

  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const careful = text.length <= CAREFUL_MAX_BYTES;
  let quick: Quick;
  try {
    quick = readQuickly(text, maxDepth, !careful);
  } catch (err) {
    if (!(err instanceof NodeLimitError)) throw err;
    return fail(
      diag(
        "XL102",
        file,
        offsetToLineCol(text)(contentStart(text, err.offset)),
        `file holds more than ${DEFAULT_MAX_NODES} YAML values`,
        "a topology of 50,000 exports holds about 450,000; check that the right file was given",
      ),
    );
  }
  if ("error" in quick && isDepthError(quick.error)) return fail(jsYamlDiagnostic(file, quick.error, maxDepth));
  const positions = (): SourceMap =>
    "map" in quick && quick.map ? quick.map : carefulPositions(file, text, limits, maxDepth);
  if ("data" in quick && !/[&*!]|<</.test(text)) {
    if (quick.data === null || quick.data === undefined) {
      if (careful) return parseCarefully(file, text, limits, quick);
      return fail(
        diag(
          "XL103",
          file,
          { line: 1, col: 1 },
          "file is empty",
          "start from an example: apiVersion: crosslink.dev/v1alpha1, kind: Topology, metadata, spec",
        ),
      );
    }
    // Well-formed plain YAML: positions are only worked out if a diagnostic needs one.
    return { data: quick.data, map: lazySourceMap(positions), diagnostics: [] };
  }
  if (careful) return parseCarefully(file, text, limits, quick);
  // A large file with an error, aliases or tags: js-yaml's reading, bounded.
  if ("error" in quick) return fail(jsYamlDiagnostic(file, quick.error, maxDepth));
  if (quick.data === null || quick.data === undefined)
    return fail(
      diag(
        "XL103",
        file,
        { line: 1, col: 1 },
        "file is empty",
        "start from an example: apiVersion: crosslink.dev/v1alpha1, kind: Topology, metadata, spec",
      ),
    );
  if (countNodes(quick.data, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES) {
    return fail(
      diag(
        "XL106",
        file,
        firstAliasOffset(text),
        "YAML aliases expand to too many nodes",
        "do not use YAML anchors and aliases to repeat large structures",
      ),
    );
  }
  return { data: quick.data, map: lazySourceMap(positions), diagnostics: [] };
}

type Quick = { data: unknown; map?: SourceMap } | { error: jsyaml.YAMLException };

/** js-yaml (core schema) with a nesting limit: the data (with positions when asked), or the first problem. */
function readQuickly(text: string, maxDepth: number, withPositions: boolean): Quick {
  try {
    if (withPositions) return loadWithPositions(text, maxDepth);
    return { data: jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA, maxDepth } as jsyaml.LoadOptions) };
  } catch (err) {
    if (err instanceof jsyaml.YAMLException) return { error: err };
    throw err;
  }
}

function isDepthError(e: jsyaml.YAMLException): boolean {
  return /nesting exceeded maxDepth/.test(e.reason);
}

/** A js-yaml error as a located diagnostic. */
function jsYamlDiagnostic(file: string, e: jsyaml.YAMLException, maxDepth: number): Diagnostic {
  const pos = { line: (e.mark?.line ?? 0) + 1, col: (e.mark?.column ?? 0) + 1 };
  if (isDepthError(e)) {
    return diag(
      "XL109",
      file,
      pos,
      `lists and mappings are nested more than ${maxDepth} levels deep`,
      "a topology needs fewer than ten levels; check for a runaway `[` or `{`, or a generated file gone wrong",
    );
  }
  if (/duplicated mapping key/.test(e.reason))
    return diag(
      "XL105",
      file,
      pos,
      "mapping has the same key twice",
      "remove or merge one of the two keys; which one wins is ambiguous",
    );
  if (/expected a single document/.test(e.reason))
    return diag(
      "XL107",
      file,
      pos,
      "file holds more than one YAML document",
      "put one Topology per file; remove the extra `---` document",
    );
  return diag("XL104", file, pos, `YAML syntax error: ${e.reason}`, hintFor(""));
}

/** Position of the first `*alias` in the text, roughly (for the alias-bomb diagnostic of large files). */
function firstAliasOffset(text: string): LineCol {
  const m = /(^|[\s[{,:-])\*[^\s,\]}]/m.exec(text);
  if (!m) return { line: 1, col: 1 };
  const before = text.slice(0, m.index + m[1]!.length);
  return { line: before.split("\n").length, col: before.length - before.lastIndexOf("\n") };
}

/** Positions from the \`yaml\` parser (small files only; the same as the careful path records). */
function carefulPositions(file: string, text: string, limits: ParseLimits, maxDepth: number): SourceMap {
  const r = parseCarefully(file, text, limits, { data: undefined });
  return r.diagnostics.length ? indexPositions(text, maxDepth) : r.map;
}

/**
 * The careful path, guarded: the \`yaml\` parser recurses, so input nested
 * deeper than the stack allows is reported from js-yaml's reading instead.
 */
function parseCarefully(file: string, text: string, limits: ParseLimits, quick: Quick): ParseResult {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  let result: ParseResult;
  try {
    result = parseText(file, text, limits);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    result = {
      map: lazySourceMap(() => indexPositions("", 1)),
      diagnostics: [
        diag("XL104", file, { line: 1, col: 1 }, "YAML syntax error: Maximum call stack size exceeded", ""),
      ],
    };
  }
  // The `yaml` parser reports running out of stack as a syntax error; it is nesting past what can be read.
  const overflow = result.diagnostics.find((d) => /Maximum call stack/i.test(d.message));
  if (!overflow) return result;
  const tooDeep = diag(
    "XL109",
    file,
    { line: overflow.line, col: overflow.col },
    `lists and mappings are nested too deeply to read (more than ${maxDepth} levels)`,
    "a topology needs fewer than ten levels; check for a runaway `[` or `{`",
  );
  return {
    map: result.map,
    diagnostics:
      "error" in quick && !isDepthError(quick.error)
        ? [jsYamlDiagnostic(file, quick.error, maxDepth), tooDeep]
        : [tooDeep],
  };
}

/** A SourceMap computed on first use. */
function lazySourceMap(compute: () => SourceMap): SourceMap {
  let map: SourceMap | undefined;
  const get = () => (map ??= compute());
  return { value: (p) => get().value(p), key: (p) => get().key(p), has: (p) => get().has(p) };
}

/** The careful path: YAML with positions, every syntax problem located. */
function parseText(file: string, text: string, limits: ParseLimits): ParseResult {
  const lineCounter = new (yamlLib().LineCounter)();
  const offsets = new Map<string, [number, number]>();
  const map = makeSourceMap(offsets, lineCounter);
  const doc = yamlLib().parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    keepSourceTokens: false,
    logLevel: "error",
  });
  const at = (offset: number): LineCol => lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
  const diagnostics: Diagnostic[] = [];
  for (const e of doc.errors) {
    const pos = at(e.pos[0]);
    const msg = firstLine(e.message);
    if (e.code === "DUPLICATE_KEY") {
      diagnostics.push(
        diag(
          "XL105",
          file,
          pos,
          "mapping has the same key twice",
          "remove or merge one of the two keys; which one wins is ambiguous",
        ),
      );
    } else if (e.code === "MULTIPLE_DOCS") {
      diagnostics.push(
        diag(
          "XL107",
          file,
          pos,
          "file holds more than one YAML document",
          "put one Topology per file; remove the extra `---` document",
        ),
      );
    } else {
      diagnostics.push(diag("XL104", file, pos, `YAML syntax error: ${msg}`, hintFor(e.code)));
    }
  }
  for (const w of doc.warnings) {
    diagnostics.push(
      diag(
        "XL108",
        file,
        at(w.pos[0]),
        `YAML: ${firstLine(w.message)}`,
        "plain YAML without custom tags is expected",
        "warning",
      ),
    );
  }
  if (diagnostics.some((d) => d.severity === "error")) return { map, diagnostics };

  if (
    doc.contents === null ||
    (yamlLib().isScalar(doc.contents) && doc.contents.value === null && !doc.contents.range?.[1])
  ) {
    diagnostics.push(
      diag(
        "XL103",
        file,
        { line: 1, col: 1 },
        "file is empty",
        "start from an example: apiVersion: crosslink.dev/v1alpha1, kind: Topology, metadata, spec",
      ),
    );
    return { map, diagnostics };
  }
  walk(doc.contents as Node, "", offsets);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: limits.maxAliasCount ?? 100 });
  } catch (err) {
    const tooMany = err instanceof Error && /alias/i.test(err.message);
    diagnostics.push(
      tooMany
        ? diag(
            "XL106",
            file,
            firstAlias(doc.contents as Node, at) ?? { line: 1, col: 1 },
            "YAML aliases expand to too many nodes",
            "do not use YAML anchors and aliases to repeat large structures",
          )
        : diag(
            "XL104",
            file,
            { line: 1, col: 1 },
            `YAML could not be read: ${err instanceof Error ? firstLine(err.message) : String(err)}`,
            "check the file's YAML syntax",
          ),
    );
    return { map, diagnostics };
  }
  return { data, map, diagnostics };
}

function firstLine(s: string): string {
  const i = s.indexOf("\n");
  return (i < 0 ? s : s.slice(0, i)).replace(/ at line \d+, column \d+:?$/, "").trim();
}

function hintFor(code: string): string {
  switch (code) {
    case "TAB_AS_INDENT":
      return "indent with spaces; YAML does not allow tabs for indentation";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation and that every `key:` is followed by a space";
    case "BLOCK_AS_IMPLICIT_KEY":
    case "MULTILINE_IMPLICIT_KEY":
      return "a key must fit on one line and end with `: `";
    case "BAD_ALIAS":
      return "an alias `*name` must refer to an anchor `&name` defined before it";
    default:
      return "fix the YAML syntax at this position (quote values that contain `: ` or start with a special character)";
  }
}

/** The source map of a file that was not parsed: everything at 1:1. */
const NO_POSITIONS: SourceMap = {
  value: () => ({ line: 1, col: 1 }),
  key: () => ({ line: 1, col: 1 }),
  has: () => false,
};

function makeSourceMap(offsets: Map<string, [number, number]>, lc: LineCounter): SourceMap {
  const find = (pointer: string): [number, number] | undefined => {
    let p = pointer;
    for (;;) {
      const hit = offsets.get(p);
      if (hit) return hit;
      if (p === "") return undefined;
      p = p.slice(0, p.lastIndexOf("/"));
    }
  };
  const pos = (offset: number | undefined): LineCol =>
    offset === undefined || offset < 0 ? { line: 1, col: 1 } : lc.linePos(offset);
  return {
    value: (pointer) => pos(find(pointer)?.[1]),
    key: (pointer) => {
      const hit = find(pointer);
      return pos(hit === undefined ? undefined : hit[0] >= 0 ? hit[0] : hit[1]);
    },
    has: (pointer) => offsets.has(pointer),
  };
}

/** Records the offsets of every key and value reachable without following aliases. */
function walk(node: Node, pointer: string, offsets: Map<string, [number, number]>, keyOffset = -1): void {
  const { isMap, isPair, isScalar, isSeq } = yamlLib();
  const start = node.range?.[0] ?? keyOffset;
  offsets.set(pointer, [keyOffset, start]);
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = item.key;
      const keyName = isScalar(k) ? String(k.value) : undefined;
      if (keyName === undefined) continue;
      const kOff = isScalar(k) ? (k.range?.[0] ?? start) : start;
      const child = `${pointer}/${escapePointer(keyName)}`;
      const v = item.value;
      if (v && typeof v === "object" && "range" in v && (v as Node).range) walk(v as Node, child, offsets, kOff);
      else offsets.set(child, [kOff, kOff]);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const child = `${pointer}/${i}`;
      if (item && typeof item === "object" && (item as Node).range) walk(item as Node, child, offsets);
      else offsets.set(child, [-1, start]);
    });
  }
}

function firstAlias(node: Node, at: (o: number) => LineCol): LineCol | undefined {
  const { isAlias, isMap, isSeq } = yamlLib();
  const stack: unknown[] = [node];
  while (stack.length) {
    const n = stack.pop();
    if (isAlias(n)) return n.range ? at(n.range[0]) : undefined;
    if (isMap(n)) for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]?.value, n.items[i]?.key);
    else if (isSeq(n)) for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]);
  }
  return undefined;
}
