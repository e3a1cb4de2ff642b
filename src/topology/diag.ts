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
