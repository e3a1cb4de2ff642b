/**
 * Field-level comparison of a desired object with the live one. Only what
 * crosslink says is compared (server defaults and other managers' fields are
 * not drift), plus removals: fields crosslink applied before and no longer
 * wants, read from the live object's managed fields.
 */
import type { KubeObject } from "../../kube/object.js";
import { managedLeafPaths } from "../../kube/managed-fields.js";
import { getPath, type FieldPath } from "../../kube/field-path.js";
import type { FieldChange } from "./actions.js";

const IGNORED_TOP = new Set(["apiVersion", "kind", "metadata", "status"]);

/** Paths whose change the API server refuses in place (the object must be replaced), by kind. */
const IMMUTABLE: Record<string, FieldPath[]> = {
  Secret: [["type"]],
  ClusterRoleBinding: [["roleRef"]],
  RoleBinding: [["roleRef"]],
  Deployment: [["spec", "selector"]],
};

/** Whether a field of an object of this kind holds secret material. */
export function isSensitive(kind: string, path: FieldPath): boolean {
  return kind === "Secret" && (path[0] === "data" || path[0] === "stringData");
}

/** The changes that turn `live` into `desired` (live undefined: everything desired is a change). */
export function fieldChanges(desired: KubeObject, live: KubeObject | undefined, manager: string): FieldChange[] {
  const changes: FieldChange[] = [];
  const kind = desired.kind;
  const push = (path: FieldPath, before: unknown, after: unknown) =>
    changes.push({ path, before, after, sensitive: isSensitive(kind, path) });

  for (const part of ["labels", "annotations"] as const) {
    const want = desired.metadata[part] ?? {};
    const have = live?.metadata[part] ?? {};
    for (const k of Object.keys(want).sort()) {
      if (have[k] !== want[k]) push(["metadata", part, k], have[k], want[k]);
    }
  }
  for (const key of Object.keys(desired).sort()) {
    if (IGNORED_TOP.has(key)) continue;
    compare([key], desired[key], live?.[key], push);
  }
  if (live) {
    for (const path of managedLeafPaths(live, manager)) {
      if (path[0] === "metadata" && path[1] !== "labels" && path[1] !== "annotations") continue;
      if (path[0] === "status") continue;
      if (getPath(desired, path) !== undefined) continue;
      const before = getPath(live, path);
      if (before !== undefined) push(path, before, undefined);
    }
  }
  return changes;
}

/** Whether any change touches a field the API server will not update in place. */
export function touchesImmutable(kind: string, changes: readonly FieldChange[]): boolean {
  const paths = IMMUTABLE[kind] ?? [];
  return changes.some((c) => paths.some((p) => p.every((seg, i) => c.path[i] === seg)));
}

function compare(
  path: FieldPath,
  want: unknown,
  have: unknown,
  push: (p: FieldPath, b: unknown, a: unknown) => void,
): void {
  if (isPlainObject(want)) {
    if (!isPlainObject(have)) return push(path, have, want);
    for (const k of Object.keys(want).sort()) compare([...path, k], want[k], have[k], push);
    return;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length || !want.every((w, i) => covers(w, have[i])))
      push(path, have, want);
    return;
  }
  if (want !== have) push(path, have, want);
}

/** Whether `have` holds at least everything `want` says. */
export function covers(want: unknown, have: unknown): boolean {
  if (isPlainObject(want)) return isPlainObject(have) && Object.keys(want).every((k) => covers(want[k], have[k]));
  if (Array.isArray(want))
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => covers(w, have[i]));
  return want === have;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
