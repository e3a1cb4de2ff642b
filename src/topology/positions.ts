/**
 * A compact position index for well-formed YAML, built from js-yaml's parse
 * events: a few typed arrays per node instead of a syntax tree, so finding
 * where a value sits in a 4 MiB file costs one more linear parse and tens of
 * MiB, not the seconds and gigabytes of a full concrete syntax tree.
 * Pointers are resolved on demand by walking from the root.
 */
import jsyaml from "js-yaml";
import { CrosslinkError } from "../errors.js";
import type { LineCol, SourceMap } from "./diag.js";

/** Grows a typed array to at least `n` entries. */
function grow<T extends Int32Array | Uint8Array>(a: T, n: number, make: (size: number) => T): T {
  if (n <= a.length) return a;
  const b = make(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

const NONE = -1;
const KIND_OTHER = 0;
const KIND_MAPPING = 1;
const KIND_SEQUENCE = 2;
/** Flag bit of `kind`: the node only wraps its one child. */
const WRAPPER = 4;

/** Where each node of a js-yaml parse starts, its parent and children, and which nodes are mapping keys. */
class NodeIndex {
  count = 0;
  start = new Int32Array(1024);
  firstChild = new Int32Array(1024);
  nextSibling = new Int32Array(1024);
  lastChild = new Int32Array(1024);
  kind = new Uint8Array(1024);
  /**
   * Node index → key text, for scalars directly followed by `:` on their line
   * (an array, not a Map: a large file has hundreds of thousands of keys).
   */
  readonly keys: (string | undefined)[] = [];
  /**
   * Nodes that only wrap their one child (js-yaml reads a flow collection in
   * block context as a would-be key first, which nests it in a second node):
   * flagged in `kind`.
   */
  isWrapper(i: number): boolean {
    return (this.kind[i]! & WRAPPER) !== 0;
  }
  private lastClosed = NONE;
  private lastResult: unknown;
  private readonly stack: number[] = [];

  constructor(
    private readonly text: string,
    private readonly maxNodes: number,
  ) {}

  open(position: number): void {
    if (this.count >= this.maxNodes) throw new NodeLimitError(position);
    const i = this.count++;
    if (i >= this.start.length) {
      const n = i + 1;
      this.start = grow(this.start, n, (s) => new Int32Array(s));
      this.firstChild = grow(this.firstChild, n, (s) => new Int32Array(s));
      this.nextSibling = grow(this.nextSibling, n, (s) => new Int32Array(s));
      this.lastChild = grow(this.lastChild, n, (s) => new Int32Array(s));
      this.kind = grow(this.kind, n, (s) => new Uint8Array(s));
    }
    this.start[i] = position;
    this.firstChild[i] = NONE;
    this.nextSibling[i] = NONE;
    this.lastChild[i] = NONE;
    this.kind[i] = KIND_OTHER;
    const parent = this.stack.length ? this.stack[this.stack.length - 1]! : NONE;
    if (parent !== NONE) {
      const last = this.lastChild[parent]!;
      if (last === NONE) this.firstChild[parent] = i;
      else this.nextSibling[last] = i;
      this.lastChild[parent] = i;
    }
    this.stack.push(i);
  }

  close(position: number, kind: string | null, result: unknown): void {
    const i = this.stack.pop();
    if (i === undefined) return;
    const only = this.firstChild[i]!;
    if (
      only !== NONE &&
      only === this.lastChild[i] &&
      only === this.lastClosed &&
      result === this.lastResult &&
      typeof result === "object" &&
      result !== null
    )
      this.kind[i] = WRAPPER;
    this.lastClosed = i;
    this.lastResult = result;
    if (kind === "mapping") this.kind[i] = this.kind[i]! | KIND_MAPPING;
    else if (kind === "sequence") this.kind[i] = this.kind[i]! | KIND_SEQUENCE;
    else if (
      kind === "scalar" &&
      result !== null &&
      result !== undefined &&
      typeof result !== "object" &&
      this.colonFollows(position)
    )
      this.keys[i] = String(result);
  }

  /** Whether `:` follows `pos` on the same line (after spaces): the node just closed is a mapping key. */
  private colonFollows(pos: number): boolean {
    const t = this.text;
    let p = pos;
    while (p < t.length && (t.charCodeAt(p) === 32 || t.charCodeAt(p) === 9)) p++;
    return t.charCodeAt(p) === 58;
  }
}

/** Offset of the first character of content at or after `pos` (skips blanks, line breaks and comments). */
export function contentStart(text: string, pos: number): number {
  let p = pos;
  for (;;) {
    const c = text.charCodeAt(p);
    if (c === 32 || c === 9 || c === 10 || c === 13) p++;
    else if (c === 35) {
      const nl = text.indexOf("\n", p);
      if (nl < 0) return text.length;
      p = nl;
    } else return Math.min(p, text.length);
  }
}

/** Maps offsets to 1-based line and column with one binary search over line starts. */
export function lineCounter(text: string): (offset: number) => LineCol {
  const starts: number[] = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - starts[lo]! + 1 };
  };
}

/** Splits a JSON pointer into unescaped segments (`""` → none). */
function segments(pointer: string): string[] {
  if (pointer === "") return [];
  const parts = pointer.slice(1).split("/");
  return pointer.includes("~") ? parts.map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")) : parts;
}

/** Thrown when a document holds more nodes than allowed; `offset` is where the first one too many starts. */
export class NodeLimitError extends CrosslinkError<"TOO_MANY_NODES"> {
  /** `offset`: where the first node too many starts. */
  constructor(readonly offset: number) {
    super("TOO_MANY_NODES", "too many YAML nodes", { data: { offset } });
  }
}

/** Default most nodes (scalars, lists, mappings) a document may hold: a 4 MiB topology of 50,000 exports has about 450,000. */
export const DEFAULT_MAX_NODES = 1_000_000;

/**
 * A js-yaml parse that also records positions: the data and a SourceMap over
 * the text. Throws js-yaml's errors, and `NodeLimitError` past `maxNodes`.
 */
export function loadWithPositions(
  text: string,
  maxDepth: number,
  maxNodes = DEFAULT_MAX_NODES,
): { data: unknown; map: SourceMap } {
  const index = new NodeIndex(text, maxNodes);
  const options = {
    schema: jsyaml.CORE_SCHEMA,
    maxDepth, // js-yaml ≥ 4.1.1; not in its type definitions
    listener(event: "open" | "close", state: jsyaml.State) {
      if (event === "open") index.open(state.position);
      else index.close(state.position, state.kind, state.result);
    },
  };
  const data: unknown = jsyaml.load(text, options as jsyaml.LoadOptions);
  return { data, map: sourceMapOf(index, text) };
}

/**
 * Indexes the positions of `text`, which js-yaml (core schema) already parsed
 * without error, and returns a SourceMap over it. Nodes reached through an
 * alias are not in the file: they resolve to the alias and `has` says false.
 */
export function indexPositions(text: string, maxDepth: number): SourceMap {
  return loadWithPositions(text, maxDepth, Infinity).map;
}

/** Children (keys and values) up to which a mapping is scanned for a key instead of indexed. */
const SCAN_LIMIT = 32;

function sourceMapOf(index: NodeIndex, text: string): SourceMap {
  const at = lineCounter(text);
  const root = index.count > 0 ? 0 : NONE;
  // Children of the nodes lookups went through, built on first use.
  const items = new Map<number, Int32Array>();
  const entries = new Map<number, Map<string, [number, number]>>();
  const itemsOf = (node: number): Int32Array => {
    let a = items.get(node);
    if (!a) {
      let n = 0;
      for (let c = index.firstChild[node]!; c !== NONE; c = index.nextSibling[c]!) n++;
      a = new Int32Array(n);
      n = 0;
      for (let c = index.firstChild[node]!; c !== NONE; c = index.nextSibling[c]!) a[n++] = c;
      items.set(node, a);
    }
    return a;
  };
  const entriesOf = (node: number): Map<string, [number, number]> => {
    let m = entries.get(node);
    if (!m) {
      m = new Map();
      for (let c = index.firstChild[node]!; c !== NONE; c = index.nextSibling[c]!) {
        const k = index.keys[c];
        if (k === undefined || m.has(k)) continue;
        const v = index.nextSibling[c]!;
        m.set(k, [c, v !== NONE && index.keys[v] === undefined ? v : NONE]);
      }
      entries.set(node, m);
    }
    return m;
  };

  /**
   * The key and value nodes of `key` in a mapping. Small mappings (an export,
   * a cluster) are scanned, which allocates nothing; large ones are indexed
   * once. The first occurrence of a key wins.
   */
  const entryOf = (node: number, key: string): [number, number] | undefined => {
    if (!entries.has(node)) {
      let n = 0;
      for (let c = index.firstChild[node]!; c !== NONE && n <= SCAN_LIMIT; c = index.nextSibling[c]!) n++;
      if (n <= SCAN_LIMIT) {
        for (let c = index.firstChild[node]!; c !== NONE; c = index.nextSibling[c]!) {
          if (index.keys[c] !== key) continue;
          const v = index.nextSibling[c]!;
          return [c, v !== NONE && index.keys[v] === undefined ? v : NONE];
        }
        return undefined;
      }
    }
    return entriesOf(node).get(key);
  };

  /** The deepest node along `pointer`: its key node, its value node, and whether the whole pointer resolved. */
  const find = (pointer: string): { key: number; value: number; exact: boolean } => {
    let node = root;
    let key = NONE;
    if (node === NONE) return { key, value: node, exact: false };
    for (const seg of segments(pointer)) {
      while (index.isWrapper(node)) node = index.firstChild[node]!;
      const kind = index.kind[node]! & ~WRAPPER;
      let next = NONE;
      let nextKey = NONE;
      if (kind === KIND_SEQUENCE) {
        const i = Number(seg);
        next = seg !== "" && Number.isInteger(i) && i >= 0 ? (itemsOf(node)[i] ?? NONE) : NONE;
      } else if (kind === KIND_MAPPING) {
        const hit = entryOf(node, seg);
        if (hit && hit[1] === NONE) return { key: hit[0], value: hit[0], exact: true };
        if (hit) [nextKey, next] = hit;
      }
      if (next === NONE) return { key, value: node, exact: false };
      node = next;
      key = nextKey;
    }
    return { key, value: node, exact: true };
  };
  const pos = (node: number): LineCol =>
    node === NONE ? { line: 1, col: 1 } : at(contentStart(text, index.start[node]!));
  return {
    value: (pointer) => pos(find(pointer).value),
    key: (pointer) => {
      const f = find(pointer);
      return pos(f.key !== NONE ? f.key : f.value);
    },
    has: (pointer) => find(pointer).exact,
  };
}

/** Counts the nodes of parsed `data` (aliases expanded, each visit counted), stopping past `budget`. */
export function countNodes(data: unknown, budget: number): number {
  let n = 0;
  const stack: unknown[] = [data];
  while (stack.length && n <= budget) {
    const v = stack.pop();
    n++;
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v !== null && typeof v === "object") for (const x of Object.values(v)) stack.push(x);
  }
  return n;
}
