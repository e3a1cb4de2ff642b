/**
 * The topology loader: bytes → YAML with positions → schema → draft → rules and
 * anchors → `Topology`. The pure core is `loadTopology` (all I/O injected);
 * `loadTopologyFile` is the thin file-system edge. Neither throws for bad input.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics.js";
import { loadAnchors, type ReadFile } from "./anchors.js";
import { diag } from "./diag.js";
import { toDraft } from "./draft.js";
import { normalise } from "./normalise.js";
import { DEFAULT_MAX_BYTES, parseYaml, type ParseLimits } from "./parse.js";
import { BoundedReadError, readBounded } from "../util/read-bounded.js";
import { runRules } from "./rules/index.js";
import { isLargeDocument, validateSchema } from "./schema.js";
import type { Topology } from "./types.js";

/** Input of `loadTopology`. */
export interface LoadInput {
  /** Name of the file as it should appear in diagnostics (e.g. `multicluster.yaml`). */
  file: string;
  /** The file's contents. */
  text: string | Uint8Array;
  /** Reads anchor files; default: none available (every `file` anchor is reported missing). */
  readFile?: ReadFile;
  /** Directory anchor `file` paths are relative to; default: the directory of `file`. */
  baseDir?: string;
  /**
   * Directory anchor files must lie in (XL309 otherwise); default: the root
   * of `baseDir` (`/` for absolute paths, the reader's root for relative ones).
   */
  root?: string;
  /** The clock for expiry rules (ms since the epoch or a Date); default: now. */
  now?: number | Date;
  /** Bounds on parsing work. */
  limits?: ParseLimits;
}

/** What loading produced: the topology when there are no errors, and every diagnostic, sorted. */
export interface LoadResult {
  topology?: Topology;
  diagnostics: Diagnostic[];
}

/** Appends `more` to `out` without spreading (a spread of 100,000+ items overflows the stack). */
function append<T>(out: T[], more: readonly T[]): void {
  for (const x of more) out.push(x);
}

const noFiles: ReadFile = (p) =>
  Promise.reject(Object.assign(new Error(`no file reader given for ${p}`), { code: "ENOENT" }));

/** Loads a topology from text: parses, validates and normalises it; never throws for bad input. */
export async function loadTopology(input: LoadInput): Promise<LoadResult> {
  const { file } = input;
  let diagnostics: Diagnostic[] = [];
  try {
    const parsed = parseYaml(file, input.text, input.limits);
    append(diagnostics, parsed.diagnostics);
    if (hasErrors(diagnostics) || parsed.data === undefined) return { diagnostics: sortDiagnostics(diagnostics) };
    const { data, map } = parsed;
    const schemaDiagnostics = validateSchema(file, data, map);
    append(diagnostics, schemaDiagnostics);
    // A large document the schema rejects: its rules would run over a million malformed items; report the schema first.
    if (hasErrors(schemaDiagnostics) && isLargeDocument(data)) return { diagnostics: sortDiagnostics(diagnostics) };
    const draft = toDraft(data);
    append(diagnostics, runRules(file, draft, map));
    const now = input.now === undefined ? Date.now() : typeof input.now === "number" ? input.now : input.now.getTime();
    const anchors = await loadAnchors(draft, map, {
      file,
      baseDir: input.baseDir ?? path.dirname(file),
      ...(input.root !== undefined ? { root: input.root } : {}),
      readFile: input.readFile ?? noFiles,
      now,
    });
    append(diagnostics, anchors.diagnostics);
    diagnostics = sortDiagnostics(diagnostics);
    if (hasErrors(diagnostics)) return { diagnostics };
    return { topology: normalise(draft, anchors.anchors, map, file), diagnostics };
  } catch (err) {
    diagnostics.push(
      diag(
        "XL199",
        file,
        { line: 1, col: 1 },
        `internal error while validating: ${err instanceof Error ? err.message : String(err)}`,
        "this is a crosslink bug; please report it with the file that caused it",
      ),
    );
    return { diagnostics: sortDiagnostics(diagnostics) };
  }
}

/** Options of `loadTopologyFile`. */
export interface LoadFileOptions {
  /** Name shown in diagnostics; default: `file` as given. */
  displayName?: string;
  /** Reads anchor files; default: the local file system, bounded and confined to `root`. */
  readFile?: ReadFile;
  /** Directory anchor files must resolve inside; default: the git work tree holding the file, else its directory. */
  root?: string;
  now?: number | Date;
  limits?: ParseLimits;
}

/** The directory anchor files of `file` must stay in: the nearest enclosing git work tree, else the file's directory. */
export function topologyRoot(file: string): string {
  const dir = path.dirname(path.resolve(file));
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, ".git"))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

/** A `ReadFile` over the local file system: bounded reads (see `readBounded`) confined to `root`. */
export function fileSystemReader(root: string): ReadFile {
  return (p, opts) => readBounded(p, { maxBytes: opts?.maxBytes ?? DEFAULT_MAX_BYTES, root });
}

/** Loads a topology file from disk (anchor files relative to it); an unreadable file is an XL100 diagnostic, one too large XL102. */
export async function loadTopologyFile(file: string, opts: LoadFileOptions = {}): Promise<LoadResult> {
  const shown = opts.displayName ?? file;
  const maxBytes = opts.limits?.maxBytes ?? DEFAULT_MAX_BYTES;
  const root = opts.root ?? topologyRoot(file);
  let text: string | Uint8Array;
  try {
    text = opts.readFile ? await opts.readFile(file, { maxBytes }) : await readBounded(file, { maxBytes });
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === "EFBIG") {
      const size = err instanceof BoundedReadError && err.size !== undefined ? `${err.size} bytes` : "too large";
      return {
        diagnostics: [
          diag(
            "XL102",
            shown,
            { line: 1, col: 1 },
            `file is ${size}, more than the ${maxBytes} bytes accepted`,
            "a topology file is a few hundred kilobytes at most; check that the right file was given",
          ),
        ],
      };
    }
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory"
          : code === "ENOTREG"
            ? "not a regular file (a device, FIFO or socket)"
            : err instanceof Error
              ? err.message
              : String(err);
    return {
      diagnostics: [
        diag(
          "XL100",
          shown,
          { line: 1, col: 1 },
          `cannot read ${file}: ${why}`,
          "give the topology file's path, e.g. `crosslink validate multicluster.yaml`",
        ),
      ],
    };
  }
  const input: LoadInput = {
    file: shown,
    text,
    readFile: opts.readFile ?? fileSystemReader(root),
    baseDir: path.dirname(path.resolve(file)),
    root,
  };
  if (opts.now !== undefined) input.now = opts.now;
  if (opts.limits !== undefined) input.limits = opts.limits;
  return loadTopology(input);
}
