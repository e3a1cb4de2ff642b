/** Display of field values in reports: sensitive ones never shown, long ones shortened. */
import type { FieldChange } from "../engine/plan/actions.js";
import { formatPath } from "../kube/field-path.js";

/** The placeholder shown instead of a sensitive value. */
export const SENSITIVE = "(sensitive)";

/** A short, single-line rendering of a value. */
export function showValue(v: unknown, max = 120): string {
  if (v === undefined) return "(none)";
  if (typeof v === "string" && v.includes("\n")) return `(text, ${v.split("\n").length} lines)`;
  const text = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `path: before → after`, redacted when sensitive. */
export function showChange(c: FieldChange): string {
  const path = formatPath(c.path);
  if (c.sensitive) return `${path}: ${SENSITIVE}`;
  if (c.before === undefined) return `${path}: ${showValue(c.after)}`;
  if (c.after === undefined) return `${path}: ${showValue(c.before)} → (removed)`;
  return `${path}: ${showValue(c.before)} → ${showValue(c.after)}`;
}

/** A change as JSON, redacted when sensitive. */
export function changeJson(c: FieldChange): Record<string, unknown> {
  if (c.sensitive) return { path: formatPath(c.path), sensitive: true };
  const out: Record<string, unknown> = { path: formatPath(c.path) };
  if (c.before !== undefined) out.before = c.before;
  if (c.after !== undefined) out.after = c.after;
  return out;
}
