/**
 * The pure core of the watch cache: the objects one LIST+WATCH holds, keyed
 * by namespace/name, with its resourceVersion; equality selectors (the only
 * ones crosslink sends) matched locally so a write can be put into the stores
 * that would have listed it; and the slimming of cached objects to what
 * crosslink reads. No I/O, no timers: watch-cache.ts drives it.
 */
import { groupOf, type KubeObject, type ManagedFieldsEntry } from "./object.js";
import type { WatchEvent } from "./port.js";

/** One term of an equality-based selector: `k=v`, `k==v`, `k!=v`, `k` (exists), `!k` (absent). */
export interface SelectorTerm {
  key: string;
  op: "=" | "!=" | "exists" | "absent";
  value?: string;
}

/** Parses an equality-based label or field selector (set-based terms are not used by crosslink and rejected). */
export function parseSelector(text: string | undefined): SelectorTerm[] {
  if (!text) return [];
  return text.split(",").map((raw) => {
    const t = raw.trim();
    if (/\s(in|notin)\s/.test(t) || t.includes("("))
      throw new Error(`selector '${text}': set-based terms are not supported`);
    const ne = t.indexOf("!=");
    if (ne > 0) return { key: t.slice(0, ne), op: "!=", value: t.slice(ne + 2) };
    const eq = t.indexOf("=");
    if (eq > 0) return { key: t.slice(0, eq), op: "=", value: t.slice(t[eq + 1] === "=" ? eq + 2 : eq + 1) };
    if (t.startsWith("!")) return { key: t.slice(1), op: "absent" };
    return { key: t, op: "exists" };
  });
}

/** Whether a value map satisfies every term. */
function satisfies(terms: readonly SelectorTerm[], get: (key: string) => string | undefined): boolean {
  return terms.every((t) => {
    const v = get(t.key);
    switch (t.op) {
      case "=":
        return v === t.value;
      case "!=":
        return v !== t.value;
      case "exists":
        return v !== undefined;
      case "absent":
        return v === undefined;
    }
  });
}

/** A field of an object by dotted path (`metadata.name`, `type`), as a field selector reads it. */
function fieldOf(obj: KubeObject, path: string): string | undefined {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined || cur === null ? undefined : String(cur);
}

/** What one store holds: a kind in a namespace (or cluster-wide), narrowed by selectors. */
export interface StoreScope {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** A stable text key of a scope. */
export function scopeKey(s: StoreScope): string {
  return [s.apiVersion, s.kind, s.namespace ?? "", s.labelSelector ?? "", s.fieldSelector ?? ""].join("|");
}

/** Whether `obj` is of the scope's group and kind (any version). */
export function sameKind(scope: StoreScope, obj: { apiVersion: string; kind: string }): boolean {
  return scope.kind === obj.kind && groupOf(scope.apiVersion) === groupOf(obj.apiVersion);
}

/** Whether a LIST of the scope would return `obj`. */
export function inScope(scope: StoreScope, obj: KubeObject): boolean {
  if (!sameKind(scope, obj)) return false;
  if (scope.namespace !== undefined && obj.metadata.namespace !== scope.namespace) return false;
  const labels = obj.metadata.labels ?? {};
  return (
    satisfies(parseSelector(scope.labelSelector), (k) => labels[k]) &&
    satisfies(parseSelector(scope.fieldSelector), (k) => fieldOf(obj, k))
  );
}

/**
 * Whether version `a` is newer than `b`. Versions are opaque to clients, but
 * every API server in use (etcd3) makes them increasing integers; anything
 * else counts as newer, so a write is never lost.
 */
export function newerVersion(a: string | undefined, b: string | undefined): boolean {
  if (b === undefined || a === undefined) return a !== undefined;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length !== b.length ? a.length > b.length : a > b;
  return a !== b;
}

/** How cached objects are slimmed to what crosslink reads; see `slimObject`. */
export interface SlimPolicy {
  /** Managers whose managedFields entries keep their whole `fieldsV1` (crosslink's own: plan diffs against them). */
  fullFieldsOf: (manager: string) => boolean;
  /** Labels whose ownership other managers keep (the export labels plan's adoption looks for). */
  keepLabels: readonly string[];
  /**
   * Whether a Service is someone else's (a user's exported or split Service, a mirror): it is then kept as
   * `projectForeignService` says. Absent: every Service is only slimmed.
   */
  foreignService?: (svc: KubeObject) => boolean;
  /** Annotations of a foreign Service kept, by prefix (the service mirror's federated members). */
  keepAnnotationPrefixes?: readonly string[];
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * A copy of `obj` without what no reader uses (pure): kubectl's last-applied
 * annotation, Service status except the multicluster gateway's (observe reads
 * its load-balancer addresses), and in other managers' managedFields entries
 * every field but the kept labels (plan's `foreignExportLabel` looks for those
 * only). The object itself is not changed.
 */
export function slimObject(obj: KubeObject, policy: SlimPolicy): KubeObject {
  const meta = obj.metadata;
  let metadata = meta;
  if (meta.annotations && LAST_APPLIED in meta.annotations) {
    const { [LAST_APPLIED]: _dropped, ...annotations } = meta.annotations;
    metadata = { ...metadata, annotations };
  }
  if (meta.managedFields?.length) {
    metadata = {
      ...metadata,
      managedFields: meta.managedFields.map((m) => {
        if (m.manager && policy.fullFieldsOf(m.manager)) return m;
        const labels = ((m.fieldsV1?.["f:metadata"] as Record<string, unknown> | undefined)?.["f:labels"] ??
          {}) as Record<string, unknown>;
        const kept = Object.fromEntries(Object.entries(labels).filter(([k]) => policy.keepLabels.includes(k.slice(2))));
        const { fieldsV1: _fields, ...rest } = m;
        return Object.keys(kept).length ? { ...rest, fieldsV1: { "f:metadata": { "f:labels": kept } } } : rest;
      }),
    };
  }
  let out: KubeObject = metadata === meta ? obj : { ...obj, metadata };
  if (obj.kind === "Service" && meta.name !== GATEWAY_SERVICE) {
    if (policy.foreignService?.(obj)) return projectForeignService(out, policy);
    if (obj.status !== undefined) {
      const { status: _status, ...rest } = out;
      out = rest as KubeObject;
    }
  }
  return out;
}

/** The multicluster gateway's Service: observe reads it whole (ports, annotations, load-balancer status). */
const GATEWAY_SERVICE = "linkerd-gateway";

/**
 * What observe, render and plan read of a Service crosslink does not own (pure; `obj` already slimmed):
 * name, namespace and resourceVersion (the store's key and version); every label (ownership, the export and
 * mirror labels, selectors matched on writes); the annotations of the kept prefixes and those crosslink
 * manages; crosslink's managedFields entries (manager, operation, subresource, fields: plan's removals and
 * `ownsExportLabel`) and others' entries holding a kept label (manager and those labels: adoption); the port
 * numbers (a split's route parent). The rest (uid, timestamps, clusterIPs, selector, other managers' entries,
 * status) is dropped.
 */
export function projectForeignService(obj: KubeObject, policy: SlimPolicy): KubeObject {
  const meta = obj.metadata;
  const metadata: KubeObject["metadata"] = { name: meta.name };
  if (meta.namespace !== undefined) metadata.namespace = meta.namespace;
  if (meta.resourceVersion !== undefined) metadata.resourceVersion = meta.resourceVersion;
  if (meta.labels) metadata.labels = meta.labels;
  const own = (meta.managedFields ?? []).filter((m) => m.manager && policy.fullFieldsOf(m.manager));
  const managed = new Set(
    own.flatMap((m) =>
      Object.keys(
        ((m.fieldsV1?.["f:metadata"] as Record<string, unknown> | undefined)?.["f:annotations"] ?? {}) as object,
      ),
    ),
  );
  const prefixes = policy.keepAnnotationPrefixes ?? [];
  const annotations = Object.entries(meta.annotations ?? {}).filter(
    ([k]) => managed.has(`f:${k}`) || prefixes.some((p) => k.startsWith(p)),
  );
  if (annotations.length) metadata.annotations = Object.fromEntries(annotations);
  const fields = (meta.managedFields ?? []).flatMap((m): ManagedFieldsEntry[] => {
    if (!m.manager) return [];
    if (policy.fullFieldsOf(m.manager))
      return [
        {
          manager: m.manager,
          ...(m.operation !== undefined ? { operation: m.operation } : {}),
          ...(m.subresource !== undefined ? { subresource: m.subresource } : {}),
          ...(m.fieldsV1 !== undefined ? { fieldsV1: m.fieldsV1 } : {}),
        },
      ];
    return m.fieldsV1 ? [{ manager: m.manager, fieldsV1: m.fieldsV1 }] : [];
  });
  if (fields.length) metadata.managedFields = shared(fields);
  const out: KubeObject = { apiVersion: obj.apiVersion, kind: obj.kind, metadata };
  const ports = (obj.spec as { ports?: { port?: unknown }[] } | undefined)?.ports;
  if (Array.isArray(ports)) out.spec = shared({ ports: ports.map((p) => ({ port: p.port })) });
  return out;
}

/** Projected parts held once for every Service with the same (by JSON), frozen: readers never write them. */
const sharedParts = new Map<string, unknown>();
/** More distinct parts than this: the table starts again (a bound, not a size any fleet is expected to reach). */
const SHARED_PARTS_MAX = 10_000;

/** The one frozen copy of `value` held for every equal value (crosslink's managedFields entries, port lists). */
function shared<T>(value: T): T {
  const key = JSON.stringify(value);
  const held = sharedParts.get(key);
  if (held !== undefined) return held as T;
  if (sharedParts.size >= SHARED_PARTS_MAX) sharedParts.clear();
  // A copy: `value` may hold parts of an object a write returned to its caller.
  const copy = deepFreeze(structuredClone(value));
  sharedParts.set(key, copy);
  return copy;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The objects of one scope, as of `resourceVersion`. */
export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  /** The version the store is current at; where the next WATCH starts. */
  resourceVersion = "";

  constructor(
    readonly scope: StoreScope,
    private readonly slim: (obj: KubeObject) => KubeObject = (o) => o,
  ) {}

  private static key(namespace: string | undefined, name: string): string {
    return `${namespace ?? ""}/${name}`;
  }

  /** Every object, in the order they were first stored. */
  list(): KubeObject[] {
    return [...this.objects.values()];
  }

  /** One object by name. */
  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(ObjectStore.key(namespace, name));
  }

  /** How many objects the store holds. */
  get size(): number {
    return this.objects.size;
  }

  /** Replaces the contents with a LIST's; true when any object differs from what was held (a relist after a gap). */
  replace(items: readonly KubeObject[], resourceVersion: string): boolean {
    let changed = items.length !== this.objects.size;
    const next = new Map<string, KubeObject>();
    for (const item of items) {
      const key = ObjectStore.key(item.metadata.namespace, item.metadata.name);
      const held = this.objects.get(key);
      if (held?.metadata.resourceVersion === item.metadata.resourceVersion && held) next.set(key, held);
      else {
        changed = true;
        next.set(key, this.slim(item));
      }
    }
    this.objects.clear();
    for (const [k, v] of next) this.objects.set(k, v);
    this.resourceVersion = resourceVersion;
    return changed;
  }

  /**
   * Applies one watch event; true when the held objects changed (not for a
   * bookmark, nor for an event carrying a version already held: the echo of
   * a write `written` put in).
   */
  apply(event: WatchEvent): boolean {
    const { object } = event;
    const rv = object.metadata.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type === "BOOKMARK") return false;
    const key = ObjectStore.key(object.metadata.namespace, object.metadata.name);
    const held = this.objects.get(key);
    if (event.type === "DELETED") return this.objects.delete(key);
    if (held && held.metadata.resourceVersion === rv) return false;
    this.objects.set(key, this.slim(object));
    return true;
  }

  /**
   * Puts the object a write returned (or removes it: `deleted`, or it no longer
   * matches the scope) unless the store already holds a newer version. False
   * when the object is not of this store's kind.
   */
  written(obj: KubeObject, deleted = false): boolean {
    if (!sameKind(this.scope, obj)) return false;
    const key = ObjectStore.key(obj.metadata.namespace, obj.metadata.name);
    if (deleted || !inScope(this.scope, obj) || obj.apiVersion !== this.scope.apiVersion) {
      if (deleted || !inScope(this.scope, obj)) return this.objects.delete(key);
      return false;
    }
    const held = this.objects.get(key);
    if (held && !newerVersion(obj.metadata.resourceVersion, held.metadata.resourceVersion)) return false;
    this.objects.set(key, this.slim(obj));
    return true;
  }
}
