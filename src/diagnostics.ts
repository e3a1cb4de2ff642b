/**
 * Diagnostics: located problems in user input, printed like a compiler
 * (`FILE:LINE:COL: error|warning CODE: message` then a hint line).
 */
import { escapeControls } from "./util/escape.js";

/** Severity of a diagnostic; errors make a topology invalid, warnings do not. */
export type Severity = "error" | "warning";

/** One located problem, with a stable code (e.g. `XL2001`) and a hint on how to fix it. */
export interface Diagnostic {
  severity: Severity;
  code: string;
  message: string;
  hint?: string;
  file: string;
  line: number;
  col: number;
  /** JSON pointer of the offending node in the document, when there is one. */
  pointer?: string;
}

/** True when any diagnostic is an error. */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === "error");
}

/** Most diagnostics printed for a terminal; the rest are counted. */
export const MAX_PRINTED_DIAGNOSTICS = 100;

/**
 * Formats diagnostics for a terminal, one problem per entry plus its hint:
 * at most `max`, then a line counting the rest. Text from input is escaped
 * (control characters cannot reach the terminal).
 */
export function formatDiagnostics(diags: readonly Diagnostic[], max = MAX_PRINTED_DIAGNOSTICS): string {
  const lines = diags.slice(0, max).map((d) => {
    const head = `${escapeControls(d.file)}:${d.line}:${d.col}: ${d.severity} ${escapeControls(d.code)}: ${escapeControls(d.message)}`;
    return d.hint ? `${head}\n  hint: ${escapeControls(d.hint)}` : head;
  });
  if (diags.length > max) {
    const rest = diags.slice(max);
    const errors = rest.filter((d) => d.severity === "error").length;
    lines.push(
      `… and ${rest.length} more (${errors} error${errors === 1 ? "" : "s"}, ${rest.length - errors} warning${rest.length - errors === 1 ? "" : "s"})`,
    );
  }
  return lines.join("\n");
}

/** Orders diagnostics by file, line, column, then code, so output is stable. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  return diags.sort(
    // Equal strings are compared without localeCompare: a large file's 50,000 diagnostics share one file name.
    (a, b) =>
      (a.file === b.file ? 0 : a.file.localeCompare(b.file)) ||
      a.line - b.line ||
      a.col - b.col ||
      (a.code === b.code ? 0 : a.code.localeCompare(b.code)),
  );
}
