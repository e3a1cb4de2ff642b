/** Builds topology diagnostics with a typed code. */
import type { Diagnostic, Severity } from "../diagnostics.js";
import type { Code } from "./codes.js";

/** A 1-based line and column. */
export interface LineCol {
  line: number;
  col: number;
}

/** A topology diagnostic: `code` at `pos` of `file`, with a message and a hint (error unless told). */
export function diag(
  code: Code,
  file: string,
  pos: LineCol,
  message: string,
  hint: string,
  severity: Severity = "error",
  pointer?: string,
): Diagnostic {
  const d: Diagnostic = { severity, code, message, hint, file, line: pos.line, col: pos.col };
  if (pointer !== undefined) d.pointer = pointer;
  return d;
}

/** Where the keys and values of a YAML document sit, by JSON pointer (`""` is the root). */
export interface SourceMap {
  /** Position of the value at `pointer`, or of its nearest ancestor that has one. */
  value(pointer: string): LineCol;
  /** Position of the key whose value is at `pointer` (its value's position for list items and the root). */
  key(pointer: string): LineCol;
  /** Whether `pointer` names a node written in the file (not reached through an alias). */
  has(pointer: string): boolean;
}
