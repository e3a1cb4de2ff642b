/**
 * The port through which every pipeline stage talks to one cluster. The
 * engine depends on this interface only; `HttpClusterClient` implements it
 * against a real API server.
 */
import type { KubeObject, ObjectRef } from "./object.js";

/** Options of a LIST. */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Options of a write. */
export interface WriteOptions {
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

/** Request and write counts of one client, for reports and benchmarks. */
export interface RequestCounters {
  requests: number;
  writes: number;
  /** Requests sent again after a retryable failure (throttling, server error, timeout). */
  retries: number;
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
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
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
  createToken(namespace: string, serviceAccount: string, expirationSeconds: number): Promise<IssuedToken>;
  /** The versions of an API group the server serves, newest preferred first; [] when the group is not served. */
  servedVersions(group: string): Promise<string[]>;
}
