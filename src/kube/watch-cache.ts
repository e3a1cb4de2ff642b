/**
 * The watch cache (I/O edge of watch-store.ts): a `ClusterClient` whose
 * `list()` and `get()` are answered from reflectors, each a LIST then a WATCH
 * from the list's resourceVersion, started on first use for exactly the
 * request's kind, namespace and selectors (a GET by name watches that one
 * name through `fieldSelector=metadata.name=NAME`, which RBAC authorizes by
 * resourceNames if the Role grants list+watch on the name). Where that LIST is
 * refused (403: RBAC grants only `get` on the name), the name is read by a
 * plain GET of the wrapped client, then and at every later read for
 * REFUSAL_MEMORY_MS (10 min), when the LIST is asked again and, granted, a
 * watch takes over; a name read by GET is not watched, so
 * `readsByGet()` says so (the daemon then skips no tick as unchanged) and its
 * state carries `readBy: "get (list refused)"`. A GET refused too is an error.
 * Bookmarks move the version; 410 Gone relists; a broken
 * stream is re-opened from the last version with backoff. Writes pass
 * through and put the object the server returned into the stores of its kind
 * (a newer resourceVersion wins; delete removes), so the next plan does not
 * write it again. Every change an event brings is reported to `onChange`
 * (the daemon reconciles on it); each watch's state to `onState`. A watch
 * lives until close(), or until releaseUnread() finds that no read used it
 * since markReads() (the daemon's topology no longer reads that scope).
 */
import { ClusterBackoff } from "../util/backoff.js";
import { FIELD_MANAGER } from "./http-client.js";
import { KubeError } from "./errors.js";
import type { KubeObject, ObjectRef } from "./object.js";
import type {
  AccessQuestion,
  CallOptions,
  ClusterClient,
  ListOptions,
  VersionedList,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from "./port.js";
import { ForbiddenLists } from "./forbidden-lists.js";
import { ObjectStore, scopeKey, slimObject, type SlimPolicy, type StoreScope } from "./watch-store.js";
import { DeadlineError, abortText, sleep } from "../util/abort.js";
import { errorMessage } from "../util/concurrency.js";
import { EXPORT_LABELS } from "../extensions/export-modes.js";
import { MANAGED_BY } from "../names/index.js";

/** The service mirror's annotations on the Services it makes (federated members: plan's orphan-mirror rule). */
const MULTICLUSTER_ANNOTATION_PREFIX = "multicluster.linkerd.io/";

/** A client that can LIST with a version and WATCH from it (HttpClusterClient). */
export interface WatchableClient extends ClusterClient {
  listVersioned(apiVersion: string, kind: string, opts?: ListOptions): Promise<VersionedList>;
  watch(apiVersion: string, kind: string, opts: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<void>;
  /** How long a discovery answer is reused. */
  discoveryTtlMs?: number;
  close?(): void;
}

/** Whether a client can be cached (it can LIST with a version and WATCH). */
export function isWatchable(client: ClusterClient): client is WatchableClient {
  const c = client as Partial<WatchableClient>;
  return typeof c.watch === "function" && typeof c.listVersioned === "function";
}

/** One watch's state, for /status and /metrics. */
export interface WatchState {
  cluster: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** The stream is open. */
  up: boolean;
  /** Times the stream broke and was re-opened (not counting the server's normal end of a stream). */
  restarts: number;
  /** LISTs after 410 Gone. */
  relists: number;
  /** Objects held. */
  objects: number;
  resourceVersion: string;
  lastError?: string;
  /** ISO time of the next attempt while backing off. */
  retryAt?: string;
  /**
   * Set when the scope is not watched: its name-scoped LIST was refused (403), every read of it is a plain GET
   * (`up` stays false; `objects` and `resourceVersion` are those of the last GET).
   */
  readBy?: typeof READ_BY_GET;
}

/** `WatchState.readBy` of a name read by plain GET because RBAC refused its LIST. */
export const READ_BY_GET = "get (list refused)";

/** What the cache reports. */
export interface CacheHooks {
  /** An event changed what a store holds (not a bookmark, not the echo of our own write). */
  onChange?(cluster: string, scope: StoreScope): void;
  /** A watch that had failed is open again (its cluster can be read again). */
  onRecovered?(cluster: string): void;
  /**
   * A watch's state changed; `stopped` when it was released: `closed` (close, rebuild) or `unused` (no read used
   * it since markReads: nothing a reconcile reads was in it).
   */
  onState?(state: WatchState, stopped: false | "closed" | "unused"): void;
}

/** Settings of the cache. */
export interface CacheOptions {
  /** Backoff between attempts to re-open a broken watch. */
  backoff?: { baseMs: number; maxMs: number };
  /** The server ends each stream after a random time in [min, 2 × min) seconds (client-go's spread). */
  minWatchSeconds?: number;
  /** How cached objects are slimmed; default: crosslink's field manager keeps its fields, the export labels others'. */
  slim?: SlimPolicy | false;
  /** How long a discovery answer is reused (the watches make no other periodic request). */
  discoveryTtlMs?: number;
  /** The monotonic clock (ms) refusals are timed by; default `performance.now()`. */
  now?: () => number;
}

/** Default backoff of a broken watch: 250 ms doubling to 30 s. */
export const WATCH_BACKOFF = { baseMs: 250, maxMs: 30_000 };

/**
 * How long a store may be read while its watch is down: past this, reads fail (the cluster is reported
 * unreachable) rather than answer from a cache nothing keeps current (a watch refused by RBAC, a cut link).
 */
export const STALE_AFTER_MS = 2_000;

/** A stream that stayed open this long resets the backoff when it breaks. */
const HEALTHY_STREAM_MS = 10_000;

/**
 * The default slimming: crosslink's own managers keep their fields; others keep only the export labels; a
 * Service without crosslink's managed-by label is projected to what observe and plan read of it.
 */
export const DEFAULT_SLIM: SlimPolicy = {
  fullFieldsOf: (m) => m === FIELD_MANAGER || m.startsWith(`${FIELD_MANAGER}-`),
  keepLabels: EXPORT_LABELS,
  foreignService: (svc) => svc.metadata.labels?.[MANAGED_BY] !== "crosslink",
  keepAnnotationPrefixes: [MULTICLUSTER_ANNOTATION_PREFIX],
};

/** The state of a scope before anything was read of it: down, empty. */
function initialState(cluster: string, scope: StoreScope): WatchState {
  return {
    cluster,
    apiVersion: scope.apiVersion,
    kind: scope.kind,
    ...(scope.namespace !== undefined ? { namespace: scope.namespace } : {}),
    ...(scope.labelSelector ? { labelSelector: scope.labelSelector } : {}),
    ...(scope.fieldSelector ? { fieldSelector: scope.fieldSelector } : {}),
    up: false,
    restarts: 0,
    relists: 0,
    objects: 0,
    resourceVersion: "",
  };
}

/** One LIST+WATCH and the store it keeps current. */
class Reflector {
  readonly store: ObjectStore;
  readonly state: WatchState;
  readonly ready: Promise<void>;
  private readonly stopper = new AbortController();
  private readonly backoff: ClusterBackoff;
  private stopped = false;
  /** Since when (ms) the watch has been down after a failure; undefined while it is up or re-opened normally. */
  downSince?: number;
  /** The read epoch (CachedClusterClient.markReads) of the last read of this store. */
  readIn = 0;

  constructor(
    private readonly client: WatchableClient,
    readonly scope: StoreScope,
    private readonly hooks: CacheHooks,
    private readonly opts: Required<Pick<CacheOptions, "backoff" | "minWatchSeconds">>,
    slim: ((o: KubeObject) => KubeObject) | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.store = new ObjectStore(scope, slim);
    this.backoff = new ClusterBackoff(opts.backoff);
    this.state = initialState(client.cluster, scope);
    const first = signal ? AbortSignal.any([this.stopper.signal, signal]) : this.stopper.signal;
    this.ready = this.list(first).then(() => {
      void this.run();
    });
  }

  /** Stops the watch: the stream is aborted, no timer stays; `why` is reported to onState. */
  stop(why: "closed" | "unused" = "closed"): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopper.abort(new Error("watch released"));
    this.state.up = false;
    this.hooks.onState?.(this.state, why);
  }

  private async list(signal: AbortSignal): Promise<boolean> {
    const { apiVersion, kind, namespace, labelSelector, fieldSelector } = this.scope;
    const l = await this.client.listVersioned(apiVersion, kind, {
      signal,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(labelSelector ? { labelSelector } : {}),
      ...(fieldSelector ? { fieldSelector } : {}),
    });
    const changed = this.store.replace(l.items, l.resourceVersion);
    this.state.resourceVersion = l.resourceVersion;
    this.state.objects = this.store.size;
    return changed;
  }

  private async run(): Promise<void> {
    const { apiVersion, kind, namespace, labelSelector, fieldSelector } = this.scope;
    let relist = false;
    while (!this.stopped) {
      let openedAt: number | undefined;
      try {
        if (relist) {
          if (await this.list(this.stopper.signal)) this.hooks.onChange?.(this.client.cluster, this.scope);
          relist = false;
        }
        const spread = this.opts.minWatchSeconds;
        await this.client.watch(
          apiVersion,
          kind,
          {
            resourceVersion: this.store.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: Math.floor(spread * (1 + Math.random())),
            signal: this.stopper.signal,
            ...(namespace !== undefined ? { namespace } : {}),
            ...(labelSelector ? { labelSelector } : {}),
            ...(fieldSelector ? { fieldSelector } : {}),
            onOpen: () => {
              openedAt = Date.now();
              const wasDown = this.downSince !== undefined;
              this.downSince = undefined;
              this.setState({ up: true });
              // Back after a failure: reconcile once, so a cluster reported unreachable meanwhile is seen again.
              if (wasDown) {
                this.hooks.onRecovered?.(this.client.cluster);
                this.hooks.onChange?.(this.client.cluster, this.scope);
              }
            },
          },
          (event) => {
            const changed = this.store.apply(event);
            this.state.resourceVersion = this.store.resourceVersion;
            this.state.objects = this.store.size;
            if (changed) this.hooks.onChange?.(this.client.cluster, this.scope);
          },
        );
        // The server ended the stream at timeoutSeconds: open the next one from where it stopped.
        this.backoff.succeed("watch");
      } catch (err) {
        if (this.stopped) return;
        if (openedAt !== undefined && Date.now() - openedAt >= HEALTHY_STREAM_MS) this.backoff.succeed("watch");
        const gone = err instanceof KubeError && err.code === "KUBE_GONE";
        if (gone) {
          relist = true;
          this.state.relists++;
        }
        if (gone && !this.backoff.get("watch")) {
          // 410 right after a healthy stream: the version was compacted; relist at once.
          this.setState({ up: false, lastError: errorMessage(err) });
          continue;
        }
        this.downSince ??= Date.now();
        const b = this.backoff.fail("watch", errorMessage(err), Date.now());
        this.state.restarts++;
        this.setState({ up: false, lastError: b.lastError, retryAt: new Date(b.until).toISOString() });
        try {
          await sleep(b.until - Date.now(), this.stopper.signal);
        } catch {
          return;
        }
        delete this.state.retryAt;
      }
    }
  }

  private setState(change: Partial<WatchState>): void {
    Object.assign(this.state, change);
    if (this.stopped) return;
    this.hooks.onState?.(this.state, false);
  }
}

/**
 * A `ClusterClient` answering reads from watches (see the module comment);
 * everything else passes through to the wrapped client.
 */
export class CachedClusterClient implements ClusterClient {
  private readonly reflectors = new Map<string, Reflector>();
  /** The LIST scopes refused (403) that callers asked to remember: no reflector is started for them again. */
  private readonly forbiddenLists: ForbiddenLists;
  /**
   * The names whose LIST+WATCH was refused (403), by scope key: read by plain GET until `forbiddenLists` lets the
   * LIST be asked again (REFUSAL_MEMORY_MS after the refusal: RBAC may have changed), with the read epoch of their
   * last read.
   */
  private readonly readByGet = new Map<string, { state: WatchState; readIn: number }>();
  private readonly slim?: (o: KubeObject) => KubeObject;
  private readonly settings: Required<Pick<CacheOptions, "backoff" | "minWatchSeconds">>;
  private closed = false;
  /** The read epoch: markReads() starts a new one, every read marks its store with it. */
  private epoch = 0;

  constructor(
    private readonly inner: WatchableClient,
    private readonly hooks: CacheHooks = {},
    opts: CacheOptions = {},
  ) {
    const policy = opts.slim === undefined ? DEFAULT_SLIM : opts.slim;
    if (policy) this.slim = (o) => slimObject(o, policy);
    this.settings = { backoff: opts.backoff ?? WATCH_BACKOFF, minWatchSeconds: opts.minWatchSeconds ?? 300 };
    this.forbiddenLists = new ForbiddenLists(() => this.cluster, opts.now);
    if (opts.discoveryTtlMs !== undefined && inner.discoveryTtlMs !== undefined)
      inner.discoveryTtlMs = opts.discoveryTtlMs;
  }

  get cluster(): string {
    return this.inner.cluster;
  }
  get server(): string {
    return this.inner.server;
  }
  get caPem(): string | undefined {
    return this.inner.caPem;
  }
  get counters() {
    return this.inner.counters;
  }
  /** The server's clock offset as the inner client last saw it (watch events carry no `Date`). */
  clockOffsetMs(): number | undefined {
    return this.inner.clockOffsetMs?.();
  }

  /** Whether every watch this client holds is open (none down, none still opening). */
  watchesUp(): boolean {
    for (const r of this.reflectors.values()) if (!r.state.up || r.downSince !== undefined) return false;
    return true;
  }

  /** Whether a read was answered by plain GET because its LIST was refused (that name is not watched). */
  readsByGet(): boolean {
    return this.readByGet.size > 0;
  }

  /** Starts a read epoch: the watches read from now on are the ones releaseUnread() keeps. */
  markReads(): void {
    this.epoch++;
  }

  /**
   * Releases the watches no read used since the last markReads() (their streams aborted, their stores dropped);
   * returns how many. A later read of such a scope starts its watch again (one LIST).
   */
  releaseUnread(): number {
    let released = 0;
    for (const [key, r] of this.reflectors)
      if (r.readIn !== this.epoch) {
        this.reflectors.delete(key);
        r.stop("unused");
        released++;
      }
    for (const [key, g] of this.readByGet)
      if (g.readIn !== this.epoch) {
        this.readByGet.delete(key);
        this.hooks.onState?.(g.state, "unused");
        released++;
      }
    return released;
  }

  /** The client this cache reads through and writes to. */
  get wrapped(): WatchableClient {
    return this.inner;
  }

  /** The state of every watch this client holds, and of every name it reads by plain GET instead. */
  watches(): WatchState[] {
    const states = [
      ...[...this.reflectors.values()].map((r) => r.state),
      ...[...this.readByGet.values()].map((g) => g.state),
    ];
    return states.map((s) => ({ ...s }));
  }

  /**
   * From the watch of the name; by plain GET where that LIST was refused (403), for REFUSAL_MEMORY_MS after each
   * refusal.
   */
  async get(ref: ObjectRef, opts: CallOptions = {}): Promise<KubeObject | undefined> {
    const scope: StoreScope = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
      fieldSelector: `metadata.name=${ref.name}`,
    };
    const key = scopeKey(scope);
    try {
      // A refused LIST is remembered (not asked again) for REFUSAL_MEMORY_MS, as list()'s are.
      const r = await this.forbiddenLists.run(key, true, `list ${ref.kind}`, () => this.ready(scope, opts.signal));
      this.watchedAgain(key);
      return r.store.get(ref.namespace, ref.name);
    } catch (err) {
      if (!(err instanceof KubeError && err.code === "KUBE_FORBIDDEN")) throw err;
      this.refusedList(key, scope);
    }
    const obj = await this.inner.get(ref, opts);
    this.gotByGet(key, obj);
    return obj;
  }

  async list(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<KubeObject[]> {
    const scope: StoreScope = {
      apiVersion,
      kind,
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
      ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
    };
    const r = await this.forbiddenLists.run(scopeKey(scope), opts.rememberForbidden, `list ${kind}`, () =>
      this.ready(scope, opts.signal),
    );
    return r.store.list();
  }

  async apply(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.wrote(await this.inner.apply(obj, opts), opts);
  }

  async delete(ref: ObjectRef, opts: WriteOptions = {}): Promise<boolean> {
    const gone = await this.inner.delete(ref, opts);
    if (!opts.dryRun) {
      const obj = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace },
      };
      for (const r of this.reflectors.values()) r.store.written(obj, true);
    }
    return gone;
  }

  async update(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    if (!this.inner.update) throw new KubeError("KUBE_HTTP", `${obj.kind}: update not supported`, this.cluster);
    return this.wrote(await this.inner.update(obj, opts), opts);
  }

  async patch(ref: ObjectRef, patch: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.wrote(await this.inner.patch(ref, patch, opts), opts);
  }

  createToken(namespace: string, serviceAccount: string, expirationSeconds: number, opts?: CallOptions) {
    return this.inner.createToken(namespace, serviceAccount, expirationSeconds, opts);
  }

  servedVersions(group: string, opts?: CallOptions): Promise<string[]> {
    return this.inner.servedVersions(group, opts);
  }

  reviewAccess(question: AccessQuestion, opts?: CallOptions) {
    if (!this.inner.reviewAccess) throw new KubeError("KUBE_HTTP", "access review not supported", this.cluster);
    return this.inner.reviewAccess(question, opts);
  }

  discovery(opts?: CallOptions): Promise<Record<string, string[]>> {
    return this.inner.discovery(opts);
  }

  /** Releases every watch (streams aborted, timers cleared) and closes the wrapped client. */
  close(): void {
    this.closed = true;
    for (const r of this.reflectors.values()) r.stop();
    this.reflectors.clear();
    for (const g of this.readByGet.values()) this.hooks.onState?.(g.state, "closed");
    this.readByGet.clear();
    this.inner.close?.();
  }

  /** Lists a name whose LIST+WATCH was refused among those read by plain GET (once). */
  private refusedList(key: string, scope: StoreScope): void {
    if (this.readByGet.has(key) || this.closed) return;
    const state: WatchState = { ...initialState(this.cluster, scope), readBy: READ_BY_GET };
    this.readByGet.set(key, { state, readIn: this.epoch });
    this.hooks.onState?.(state, false);
  }

  /** A name read by GET whose LIST is granted now: its watch takes over (reported closed: a change to reconcile). */
  private watchedAgain(key: string): void {
    const g = this.readByGet.get(key);
    if (!g) return;
    this.readByGet.delete(key);
    this.hooks.onState?.(g.state, "closed");
  }

  /** Keeps what the last plain GET of a name found in its state (reported when it moved), and the read epoch. */
  private gotByGet(key: string, obj: KubeObject | undefined): void {
    const g = this.readByGet.get(key);
    if (!g) return;
    g.readIn = this.epoch;
    const state = g.state;
    const objects = obj ? 1 : 0;
    const resourceVersion = obj?.metadata.resourceVersion ?? "";
    if (state.objects === objects && state.resourceVersion === resourceVersion) return;
    Object.assign(state, { objects, resourceVersion });
    this.hooks.onState?.(state, false);
  }

  /** Puts what a write returned into the stores of its kind. */
  private wrote(obj: KubeObject, opts: WriteOptions): KubeObject {
    if (!opts.dryRun && obj?.metadata && !opts.subresource)
      for (const r of this.reflectors.values()) r.store.written(obj);
    return obj;
  }

  /** The reflector of a scope, started on first use; resolves once its first LIST is in. */
  private async ready(scope: StoreScope, signal: AbortSignal | undefined): Promise<Reflector> {
    if (this.closed) throw new KubeError("KUBE_ABORTED", `${scope.kind}: client closed`, this.cluster);
    const key = scopeKey(scope);
    let r = this.reflectors.get(key);
    if (!r) {
      const made = new Reflector(this.inner, scope, this.hooks, this.settings, this.slim, signal);
      r = made;
      this.reflectors.set(key, made);
      // A first LIST that fails drops the reflector: the next call starts again (the loop's backoff paces it).
      made.ready.catch(() => {
        if (this.reflectors.get(key) === made) this.reflectors.delete(key);
        made.stop();
      });
    }
    r.readIn = this.epoch;
    if (!signal) {
      await r.ready;
      return this.fresh(r);
    }
    const reflector = r;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () =>
        reject(
          new KubeError(
            signal.reason instanceof DeadlineError ? "KUBE_TIMEOUT" : "KUBE_ABORTED",
            `list ${scope.kind}: ${abortText(signal)}`,
            this.cluster,
          ),
        );
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      reflector.ready.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
    return this.fresh(reflector);
  }

  /** The reflector, unless its watch has been down longer than STALE_AFTER_MS (then KUBE_UNREACHABLE). */
  private fresh(r: Reflector): Reflector {
    if (r.downSince !== undefined && Date.now() - r.downSince > STALE_AFTER_MS)
      throw new KubeError(
        "KUBE_UNREACHABLE",
        `watch ${r.scope.kind}: down for ${Math.round((Date.now() - r.downSince) / 1000)} s, the cache is stale: ${r.state.lastError ?? ""}`.trim(),
        this.cluster,
      );
    return r;
  }
}
