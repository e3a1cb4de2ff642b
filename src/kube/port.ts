/**
 * The port through which every pipeline stage talks to one cluster. The
 * engine depends on this interface only; `HttpClusterClient` implements it
 * against a real API server.
 */
import type { KubeObject, ObjectRef } from "./object.js";

/**
 * What bounds one call: an abort signal (a lost Lease, SIGTERM, the cluster's
 * deadline) that reaches the request in flight, and for writes a fence checked
 * synchronously right before the write is sent.
 */
export interface CallOptions {
  signal?: AbortSignal;
  /** False when writes are no longer allowed (e.g. the Lease is not held with margin): the write is refused unsent. */
  mayWrite?: () => boolean;
}

/** Options of a LIST. */
export interface ListOptions extends CallOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * When the server refuses this LIST (403), the client refuses the same LIST again without asking, for as long
   * as it lives (for a caller with a fallback, e.g. GETs by name); clients may ignore it.
   */
  rememberForbidden?: boolean;
}

/** Options of a WATCH: a LIST's options plus where to start and how long the server keeps the stream. */
export interface WatchOptions extends ListOptions {
  /** Start after this version (a LIST's `metadata.resourceVersion`, or the last event's or bookmark's). */
  resourceVersion: string;
  /** The server ends the stream after this long (it is then re-opened from the last version seen). */
  timeoutSeconds?: number;
  /** Ask for BOOKMARK events, which move the version without an object change. */
  allowWatchBookmarks?: boolean;
  /** Called once the server has accepted the watch (200), before any event. */
  onOpen?: () => void;
}

/** One event of a watch stream; BOOKMARK objects carry only `metadata.resourceVersion`. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  object: KubeObject;
}

/** A LIST's items and the collection's resourceVersion, where a WATCH starts. */
export interface VersionedList {
  items: KubeObject[];
  resourceVersion: string;
}

/** Options of a write. */
export interface WriteOptions extends CallOptions {
  /** `dryRun=All`: the server validates and answers but persists nothing. */
  dryRun?: boolean;
  /** Take over fields other managers own (server-side apply `force=true`). */
  force?: boolean;
  /** Field manager; default `crosslink`. */
  fieldManager?: string;
  /** Write a subresource (`status`) instead of the object (apply only). */
  subresource?: "status";
}

/** A token from the TokenRequest API. */
export interface IssuedToken {
  token: string;
  expirationTimestamp: string;
}

/** What a SelfSubjectAccessReview asks: may the caller do `verb` on `resource` (of `group`), cluster-wide unless `namespace`. */
export interface AccessQuestion {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

/** The API server's answer to a SelfSubjectAccessReview. */
export interface AccessAnswer {
  allowed: boolean;
  reason?: string;
}

/** Request and write counts of one client, for reports and benchmarks. */
export interface RequestCounters {
  requests: number;
  writes: number;
  /** Requests sent again after a retryable failure (throttling, server error, timeout). */
  retries: number;
  /** HTTP/2 PINGs sent to check the watches' connection (not API requests; not in `requests`). */
  pings?: number;
  byVerb: Record<string, number>;
}

/** One cluster's API, as crosslink uses it. */
export interface ClusterClient {
  /** The topology cluster name this client reaches. */
  readonly cluster: string;
  /** The API server URL from the kubeconfig context. */
  readonly server: string;
  /** The PEM of the CA the kubeconfig trusts for this server, when it names one. */
  readonly caPem?: string;
  readonly counters: RequestCounters;
  get(ref: ObjectRef, opts?: CallOptions): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, opts?: ListOptions): Promise<KubeObject[]>;
  /** Server-side apply; returns the object as the server holds it afterwards. */
  apply(obj: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  /** Deletes an object; false when it was already gone. */
  delete(ref: ObjectRef, opts?: WriteOptions): Promise<boolean>;
  /**
   * Replaces an object (PUT) carrying its `metadata.resourceVersion`: fails with
   * KUBE_CONFLICT when the object changed since it was read (optimistic
   * concurrency, for Lease renewals). Optional so other implementations stay valid.
   */
  update?(obj: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  /** A strategic-merge (or merge for custom resources) patch. */
  patch(ref: ObjectRef, patch: unknown, opts?: WriteOptions): Promise<KubeObject>;
  /** Issues a bounded ServiceAccount token through the TokenRequest API. */
  createToken(
    namespace: string,
    serviceAccount: string,
    expirationSeconds: number,
    opts?: CallOptions,
  ): Promise<IssuedToken>;
  /** The versions of an API group the server serves, newest preferred first; [] when the group is not served. */
  servedVersions(group: string, opts?: CallOptions): Promise<string[]>;
  /** Asks the server whether this client's own identity may do something (SelfSubjectAccessReview); optional so other implementations stay valid. */
  reviewAccess?(question: AccessQuestion, opts?: CallOptions): Promise<AccessAnswer>;
  /**
   * The served versions (preferred first) of every API group outside the core
   * group, by group, from one discovery request; implementations may reuse an
   * answer for a while.
   */
  discovery(opts?: CallOptions): Promise<Record<string, string[]>>;
  /**
   * The API server's clock minus this process's (`Date.now()`), in ms, as the `Date` header of the server's last
   * answer showed it (to about a second); undefined before any answer carried one. Optional so other
   * implementations stay valid.
   */
  clockOffsetMs?(): number | undefined;
}

/** A view of a client whose every call carries `scope` (merged with the call's own options). */
export function scopedClient(client: ClusterClient, scope: CallOptions): ClusterClient {
  const o = <T extends CallOptions>(opts?: T): T => {
    const signals = [scope.signal, opts?.signal].filter((x): x is AbortSignal => x !== undefined);
    const fences = [scope.mayWrite, opts?.mayWrite].filter((x): x is () => boolean => x !== undefined);
    const merged: CallOptions = {};
    if (signals.length) merged.signal = signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
    if (fences.length) merged.mayWrite = () => fences.every((f) => f());
    return { ...opts, ...merged } as T;
  };
  const update = client.update?.bind(client);
  const reviewAccess = client.reviewAccess?.bind(client);
  const clockOffsetMs = client.clockOffsetMs?.bind(client);
  return {
    cluster: client.cluster,
    server: client.server,
    ...(client.caPem !== undefined ? { caPem: client.caPem } : {}),
    counters: client.counters,
    get: (ref, opts) => client.get(ref, o(opts)),
    list: (apiVersion, kind, opts) => client.list(apiVersion, kind, o(opts)),
    apply: (obj, opts) => client.apply(obj, o(opts)),
    delete: (ref, opts) => client.delete(ref, o(opts)),
    ...(update ? { update: (obj: KubeObject, opts?: WriteOptions) => update(obj, o(opts)) } : {}),
    patch: (ref, patch, opts) => client.patch(ref, patch, o(opts)),
    createToken: (ns, sa, ttl, opts) => client.createToken(ns, sa, ttl, o(opts)),
    servedVersions: (group, opts) => client.servedVersions(group, o(opts)),
    ...(reviewAccess ? { reviewAccess: (q: AccessQuestion, opts?: CallOptions) => reviewAccess(q, o(opts)) } : {}),
    discovery: (opts) => client.discovery(o(opts)),
    ...(clockOffsetMs ? { clockOffsetMs } : {}),
  };
}
