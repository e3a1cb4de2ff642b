/** Helpers that turn JSON pointers and values into words for messages. */

/** `/spec/clusters/1/name` → `spec.clusters[1].name`; the root is `the document`. */
export function displayPath(pointer: string): string {
  if (pointer === "") return "the document";
  let out = "";
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

/** The YAML-ish name of a value's type, for "must be X, not Y" messages. */
export function typeOf(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return "a string";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a number";
  if (typeof v === "boolean") return "a boolean";
  return typeof v;
}
