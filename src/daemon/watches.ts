/**
 * The daemon's side of the watch cache: wraps a topology's cluster clients in
 * `CachedClusterClient`s, turns store changes into one debounced reconcile
 * trigger, and keeps every watch's state for /status and /metrics. A name a
 * client reads by plain GET because RBAC refused its LIST (`readBy`) is listed
 * in /status, has no watch gauges, and makes every tick reconcile. A cluster
 * whose client the factory kept for a new topology keeps its cache (watches
 * and stores); a closed cache's watches leave /status and /metrics.
 */
import { CachedClusterClient, isWatchable, type CacheOptions, type WatchState } from "../kube/watch-cache.js";
import type { ClusterClient } from "../kube/port.js";
import type { ClientsFactory, ClusterAccessLike } from "./loop.js";
import type { DaemonMetrics } from "./metrics.js";
import type { WatchStatus } from "./status.js";

/** How long after a watch event the reconcile starts, so a burst of events makes one reconcile. */
export const WATCH_DEBOUNCE_MS = 100;

/** The watches of the daemon, their metrics and the reconcile trigger they fire. */
export class WatchBoard {
  private readonly states = new Map<string, WatchState>();
  private readonly restarts = new Map<string, number>();
  private readonly relists = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly metrics: DaemonMetrics,
    /** Called (debounced) when a watch brought a change. */
    private readonly onChange: () => void,
    /** Called when a watch of a cluster is open again after failing (the loop forgets the cluster's backoff). */
    private readonly onRecovered: (cluster: string) => void = () => {},
    private readonly debounceMs = WATCH_DEBOUNCE_MS,
  ) {}

  /**
   * Wraps the clients a factory builds in watch caches; clients that cannot watch are left as they are. Given
   * the access in use, the factory is given the one it built; a client it kept keeps its cache.
   */
  wrap(factory: ClientsFactory, opts: CacheOptions = {}): ClientsFactory {
    // Every change the watches brought: events, relists, a watch going down or up again (a kept cache counts on).
    let generation = 0;
    const built = new WeakMap<ClusterAccessLike, ClusterAccessLike>();
    return (topology, previous) => {
      const access = factory(topology, previous && built.get(previous));
      const cacheOf = new Map<ClusterClient, CachedClusterClient>();
      for (const c of previous?.clients.values() ?? []) if (c instanceof CachedClusterClient) cacheOf.set(c.wrapped, c);
      const cached = new Map<string, CachedClusterClient>();
      const clients = new Map<string, ClusterClient>();
      let unwatched = false;
      for (const [name, client] of access.clients) {
        if (!isWatchable(client)) {
          unwatched = true;
          clients.set(name, client);
          continue;
        }
        const kept = cacheOf.get(client);
        if (kept) {
          cached.set(name, kept);
          clients.set(name, kept);
          continue;
        }
        const c = new CachedClusterClient(
          client,
          {
            onChange: () => {
              generation++;
              this.changed();
            },
            onState: (s, stopped) => {
              if (this.record(s, stopped)) generation++;
            },
            onRecovered: (cluster) => this.onRecovered(cluster),
          },
          opts,
        );
        cached.set(name, c);
        clients.set(name, c);
      }
      const wrapped: ClusterAccessLike = {
        ...access,
        clients,
        // Undefined (no tick skipped as unchanged) while a cluster or a name is read without a watch.
        watchGeneration: () => {
          const all = [...cached.values()];
          return unwatched || all.some((c) => c.readsByGet()) || !all.every((c) => c.watchesUp())
            ? undefined
            : generation;
        },
        markReads: (names) => {
          for (const n of names) cached.get(n)?.markReads();
        },
        releaseUnread: (names) => names.reduce((n, name) => n + (cached.get(name)?.releaseUnread() ?? 0), 0),
        close: (keep) => {
          const inner = new Set<ClusterClient>(keep);
          for (const c of cached.values())
            if (keep?.has(c)) inner.add(c.wrapped);
            else c.close();
          access.close(inner);
        },
      };
      built.set(wrapped, access);
      return wrapped;
    };
  }

  /** Every watch held now, ordered by cluster, kind and scope. */
  list(): WatchStatus[] {
    return [...this.states.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => ({ ...s }));
  }

  /** Stops the pending trigger; later changes fire nothing. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private changed(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.onChange();
    }, this.debounceMs);
    this.timer.unref();
  }

  /**
   * Records a watch's state; true when it moved in a way a reconcile must see: closed, down, up again after
   * being down, or relisted (not the first open of a new watch: its LIST was read by the reconcile that made it;
   * not the release of an unused one: no reconcile read it).
   */
  private record(s: WatchState, stopped: false | "closed" | "unused"): boolean {
    const key = watchKey(s);
    const labels = watchLabels(s);
    const prev = this.states.get(key);
    if (stopped) {
      this.states.delete(key);
      this.restarts.delete(key);
      this.relists.delete(key);
      this.metrics.watchUp.remove(labels);
      this.metrics.watchObjects.remove(labels);
      return stopped === "closed";
    }
    const moved = prev ? prev.up !== s.up || prev.relists !== s.relists : !s.up;
    this.states.set(key, { ...s });
    // A name read by plain GET (its LIST refused) has no watch: in /status only, no watch gauges.
    if (s.readBy) return moved;
    this.metrics.watchUp.set(labels, s.up ? 1 : 0);
    this.metrics.watchObjects.set(labels, s.objects);
    const restarted = s.restarts - (this.restarts.get(key) ?? 0);
    if (restarted > 0) this.metrics.watchRestarts.inc({ cluster: s.cluster, kind: s.kind }, restarted);
    this.restarts.set(key, s.restarts);
    const relisted = s.relists - (this.relists.get(key) ?? 0);
    if (relisted > 0) this.metrics.watchRelists.inc({ cluster: s.cluster, kind: s.kind }, relisted);
    this.relists.set(key, s.relists);
    return moved;
  }
}

function watchKey(s: WatchState): string {
  return [s.cluster, s.kind, s.apiVersion, s.namespace ?? "", s.labelSelector ?? "", s.fieldSelector ?? ""].join("|");
}

/** The metric labels of a watch: cluster, kind, namespace and its selectors in one. */
function watchLabels(s: WatchState): Record<"cluster" | "kind" | "namespace" | "selector", string> {
  return {
    cluster: s.cluster,
    kind: s.kind,
    namespace: s.namespace ?? "",
    selector: [s.labelSelector, s.fieldSelector].filter(Boolean).join(";"),
  };
}
