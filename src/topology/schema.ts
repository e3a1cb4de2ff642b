/**
 * Schema validation: checks parsed data against `schema/multicluster.schema.json`
 * with ajv and turns each ajv error into a located, readable diagnostic.
 */
import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import type { Diagnostic } from "../diagnostics.js";
import { diag } from "./diag.js";
import type { SourceMap } from "./parse.js";
import { displayPath, typeOf } from "./paths.js";
import { countNodes } from "./positions.js";

/** The topology JSON Schema (draft 2020-12), as shipped in `schema/`. */
export function topologySchema(): Record<string, unknown> {
  return JSON.parse(
    readFileSync(new URL("../../../schema/multicluster.schema.json", import.meta.url), "utf8"),
  ) as Record<string, unknown>;
}

const compiled: { first?: ValidateFunction; all?: ValidateFunction } = {};

/** The validator that stops at the first problem (`first`) or reports every problem (`all`). */
function validator(which: "first" | "all"): ValidateFunction {
  let v = compiled[which];
  if (!v) {
    const ajv = new Ajv2020({
      allErrors: which === "all",
      verbose: true,
      strict: true,
      strictRequired: false,
      allowUnionTypes: true,
    });
    v = compiled[which] = ajv.compile(topologySchema());
  }
  return v;
}

/**
 * Documents with more nodes than this are checked in full only in the first
 * `MAX_ITEMS_CHECKED` items of each list: reporting every problem of a
 * million-item list costs ajv seconds and gigabytes. The first problem of the
 * whole document is always reported, so a large document is never taken for valid.
 */
export const FULL_CHECK_NODES = 300_000;
/** Items of each list checked for every problem in a large document. */
export const MAX_ITEMS_CHECKED = 1_000;

/** A copy of `data` with every list cut to its first `max` items. */
function truncateLists(data: unknown, max: number): unknown {
  if (Array.isArray(data)) return data.slice(0, max).map((x) => truncateLists(x, max));
  if (data === null || typeof data !== "object") return data;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) out[k] = truncateLists(v, max);
  return out;
}

/** Whether `data` has more nodes than are checked in full (see `FULL_CHECK_NODES`). */
export function isLargeDocument(data: unknown): boolean {
  return countNodes(data, FULL_CHECK_NODES) > FULL_CHECK_NODES;
}

/** Validates `data` against the schema; returns one diagnostic per problem (empty when valid). */
export function validateSchema(file: string, data: unknown, map: SourceMap): Diagnostic[] {
  const first = validator("first");
  if (first(data)) return [];
  const firstError = first.errors?.[0];
  const large = isLargeDocument(data);
  const all = validator("all");
  all(large ? truncateLists(data, MAX_ITEMS_CHECKED) : data);
  const errors = [...(all.errors ?? [])];
  if (large && firstError) errors.push(firstError);
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.schemaPath.includes("/oneOf/")) continue; // summarised by the oneOf error itself
    const d = toDiagnostic(file, e, map);
    const id = `${d.code}|${d.line}|${d.col}|${d.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push(d);
    }
  }
  return out;
}

const DEF_FORMS: Record<string, string> = {
  dnsLabel: "a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit)",
  serviceName: "a Service name (lower-case letters, digits and '-', starting with a letter)",
  dnsName: "a DNS name such as cluster.local",
  duration: "a Go duration such as 168h, 30m or 1h30m",
};

function formOf(e: ErrorObject): string | undefined {
  const m = /#\/\$defs\/(\w+)\//.exec(e.schemaPath);
  return m ? DEF_FORMS[m[1] ?? ""] : undefined;
}

function toDiagnostic(file: string, e: ErrorObject, map: SourceMap): Diagnostic {
  const ptr = e.instancePath;
  const where = displayPath(ptr);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(p.additionalProperty);
      const child = `${ptr}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      const known = Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
      const near = closest(key, known);
      return diag(
        "XL110",
        file,
        map.key(child),
        `${displayPath(child)}: unknown field \`${key}\``,
        near ? `did you mean \`${near}\`? (allowed here: ${known.join(", ")})` : `allowed here: ${known.join(", ")}`,
        "error",
        child,
      );
    }
    case "required": {
      const missing = String(p.missingProperty);
      return diag(
        "XL111",
        file,
        map.value(ptr),
        `${where}: missing required field \`${missing}\``,
        `add \`${missing}:\` to this mapping`,
        "error",
        ptr,
      );
    }
    case "type":
      return diag(
        "XL112",
        file,
        map.value(ptr),
        `${where}: must be ${article(String(p.type))}, not ${typeOf(e.data)}`,
        typeHint(String(p.type)),
        "error",
        ptr,
      );
    case "const":
      return diag(
        "XL113",
        file,
        map.value(ptr),
        `${where}: must be \`${String(p.allowedValue)}\`, not ${show(e.data)}`,
        `write \`${String(p.allowedValue)}\``,
        "error",
        ptr,
      );
    case "enum": {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const near = typeof e.data === "string" ? closest(e.data, allowed) : undefined;
      return diag(
        "XL113",
        file,
        map.value(ptr),
        `${where}: ${show(e.data)} is not one of ${allowed.join(", ")}`,
        near ? `did you mean \`${near}\`?` : `use one of: ${allowed.join(", ")}`,
        "error",
        ptr,
      );
    }
    case "pattern":
    case "maxLength": {
      const form =
        formOf(e) ??
        (where.endsWith("apiServer")
          ? "an http(s) URL such as https://10.0.0.1:6443"
          : where.includes("addresses")
            ? "an IP address or host name"
            : "of the required form");
      const tooLong = e.keyword === "maxLength" ? ` (at most ${String(p.limit)} characters)` : "";
      return diag(
        "XL114",
        file,
        map.value(ptr),
        `${where}: ${show(e.data)} is not ${form}${tooLong}`,
        `write ${form}${tooLong}`,
        "error",
        ptr,
      );
    }
    case "minItems":
      return diag(
        "XL115",
        file,
        map.value(ptr),
        `${where}: needs at least ${String(p.limit)} item${p.limit === 1 ? "" : "s"}`,
        "add an item or remove the field",
        "error",
        ptr,
      );
    case "minLength":
      return diag(
        "XL115",
        file,
        map.value(ptr),
        `${where}: must not be empty`,
        "give a value or remove the field",
        "error",
        ptr,
      );
    case "minimum":
    case "maximum":
      return diag(
        "XL115",
        file,
        map.value(ptr),
        `${where}: ${show(e.data)} must be ${p.comparison === ">=" ? "at least" : "at most"} ${String(p.limit)}`,
        where.endsWith("port") ? "use a port number between 1 and 65535" : "use a non-negative integer",
        "error",
        ptr,
      );
    case "uniqueItems": {
      const later = Math.max(Number(p.i), Number(p.j));
      const item = `${ptr}/${later}`;
      return diag(
        "XL117",
        file,
        map.value(item),
        `${displayPath(item)}: duplicate of item ${Math.min(Number(p.i), Number(p.j))}`,
        "remove the repeated entry",
        "error",
        item,
      );
    }
    case "oneOf":
      return diag(
        "XL116",
        file,
        map.value(ptr),
        `${where}: needs exactly one of \`file\` or \`pem\``,
        "give `file: path/to/root.crt` (relative to this topology) or `pem: |` with the certificate, not both",
        "error",
        ptr,
      );
    default:
      return diag(
        "XL115",
        file,
        map.value(ptr),
        `${where}: ${e.message ?? "is invalid"}`,
        "see schema/multicluster.schema.json for what is allowed here",
        "error",
        ptr,
      );
  }
}

function article(t: string): string {
  if (t === "object") return "a mapping";
  if (t === "array") return "a list";
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function typeHint(t: string): string {
  switch (t) {
    case "object":
      return "write `key: value` lines indented under this key";
    case "array":
      return "write a list: one `- item` per line, or `[a, b]`";
    case "boolean":
      return "write true or false (unquoted)";
    case "integer":
      return "write a whole number, unquoted";
    default:
      return 'quote the value if YAML reads it as another type (e.g. "1.0", "true")';
  }
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? v.slice(0, 77) + "..." : v);
  if (v === null || typeof v !== "object") return String(v);
  return typeOf(v);
}

/** The candidate closest to `word` by edit distance, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] ?? Infinity;
}
