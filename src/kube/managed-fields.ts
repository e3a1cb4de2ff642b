/**
 * Server-side apply bookkeeping: which fields a field manager owns, read from
 * `metadata.managedFields` (FieldsV1). Used to find fields crosslink set
 * before and no longer wants (they show as removals in the plan).
 */
import type { KubeObject } from "./object.js";
import type { FieldPath } from "./field-path.js";

/**
 * Leaf paths a manager owns through `Apply` on the main resource. Lists keyed
 * by `k:`/`v:`/`i:` entries are reported as the list's own path.
 */
export function managedLeafPaths(obj: KubeObject, manager: string): FieldPath[] {
  const out: FieldPath[] = [];
  for (const entry of obj.metadata.managedFields ?? []) {
    if (entry.manager !== manager || entry.operation !== "Apply" || entry.subresource || !entry.fieldsV1) continue;
    walk(entry.fieldsV1, [], out);
  }
  return out;
}

function walk(node: Record<string, unknown>, path: string[], out: FieldPath[]): void {
  const keys = Object.keys(node).filter((k) => k !== ".");
  if (keys.length === 0) {
    if (path.length) out.push(path);
    return;
  }
  if (keys.some((k) => !k.startsWith("f:"))) {
    out.push(path); // a list (or set) owned as a whole
    return;
  }
  for (const k of keys) walk((node[k] ?? {}) as Record<string, unknown>, [...path, k.slice(2)], out);
}
