/**
 * Diagnostics: located problems in user input, printed like a compiler
 * (`FILE:LINE:COL: error|warning CODE: message` then a hint line).
 */

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

/** Formats diagnostics for a terminal, one problem per entry plus its hint. */
export function formatDiagnostics(diags: readonly Diagnostic[]): string {
  return diags
    .map((d) => {
      const head = `${d.file}:${d.line}:${d.col}: ${d.severity} ${d.code}: ${d.message}`;
      return d.hint ? `${head}\n  hint: ${d.hint}` : head;
    })
    .join("\n");
}

/** Orders diagnostics by file, line, column, then code, so output is stable. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  return diags.sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.code.localeCompare(b.code),
  );
}
