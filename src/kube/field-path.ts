/** Field paths inside an object: segment arrays, with a key form for sets and a readable form for display. */

/** A path as segments, e.g. `["metadata", "labels", "mirror.linkerd.io/exported"]`. */
export type FieldPath = readonly (string | number)[];

/** A string usable as a map or set key. */
export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

/** `spec.rules[0].backendRefs[1].weight`, `metadata.labels["a.b/c"]`. */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** The value at a path, or undefined. */
export function getPath(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}
