/**
 * One writer: leader election through a `coordination.k8s.io/v1` Lease.
 * Acquire by creating the Lease (server-side apply with a per-replica field
 * manager, so a concurrent create conflicts) or, when the holder let it
 * expire, by replacing it with the observed resourceVersion (a concurrent
 * taker conflicts). Expiry is judged by the local clock since the record was
 * last seen to change, as client-go does, so clock skew between replicas does
 * not matter. The holder renews every `renewMs` and releases on shutdown.
 * Followers can ask the holder for a reconcile through an annotation.
 *
 * Fencing, as client-go's leader elector: the holder counts as leader only
 * until `renewDeadlineMs` (shorter than the lease duration) after the start of
 * its last successful renewal, so a holder that could not renew stops writing
 * before any other replica can see the Lease expire. Each leadership term has
 * an AbortSignal (`writeSignal`) that aborts when the term ends: a failed or
 * late renewal, another holder, or stop().
 */
import { KubeError } from "../kube/errors.js";
import type { KubeObject } from "../kube/object.js";
import type { ClusterClient } from "../kube/port.js";
import { scopedSignal } from "../util/abort.js";
import type { Clock } from "./clock.js";
import type { Logger } from "./log.js";

/** Annotation on the Lease that suspends writes when "true". */
export const SUSPEND_ANNOTATION = "crosslink.dev/suspend";
/** Annotation a follower sets to ask the holder for a reconcile (a webhook reached the follower). */
export const REQUEST_ANNOTATION = "crosslink.dev/reconcile-requested-at";

/** The client calls the elector needs. */
export type LeaseClient = Pick<ClusterClient, "get" | "apply" | "patch"> & Required<Pick<ClusterClient, "update">>;

/** Settings of the election. */
export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  /** How long after the start of its last successful renewal the holder may write; shorter than leaseDurationMs. */
  renewDeadlineMs: number;
  /** How often the holder renews and a follower tries to acquire. */
  renewMs: number;
  /** Labels the Lease is created with (shards list theirs by label). */
  labels?: Record<string, string>;
}

/** client-go's proportions: renew deadline 2/3 and retry period 1/5 of the lease duration (10 s and 3 s of 15 s). */
export function leaseTimings(
  leaseDurationMs: number,
): Pick<LeaseOptions, "leaseDurationMs" | "renewDeadlineMs" | "renewMs"> {
  return {
    leaseDurationMs,
    renewDeadlineMs: Math.floor((leaseDurationMs * 2) / 3),
    renewMs: Math.max(200, Math.floor(leaseDurationMs / 5)),
  };
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A Lease-based elector. */
export class LeaseElector {
  private leader = false;
  private leaderUntil = 0;
  private observed?: { key: string; at: number };
  private lease?: KubeObject;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private inflight?: Promise<boolean>;
  private fenceTimer?: NodeJS.Timeout;
  private term = abortedController("not the Lease holder");
  private lastRequest?: string;
  private readonly changeListeners: ((leader: boolean) => void)[] = [];
  private readonly requestListeners: (() => void)[] = [];

  constructor(
    private readonly client: LeaseClient,
    private readonly opts: LeaseOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    if (!(opts.renewDeadlineMs < opts.leaseDurationMs))
      throw new Error("lease: the renew deadline must be shorter than the lease duration");
  }

  /** Whether this replica holds the Lease now with margin: its last renewal started less than the renew deadline ago. */
  isLeader(): boolean {
    return this.leader && this.clock.now().getTime() < this.leaderUntil;
  }

  /** Until when (epoch ms, local clock) the last renewal lets this replica write: the end of its term unless renewed. */
  heldUntil(): number {
    return this.leaderUntil;
  }

  /** The signal of the current leadership term: aborted once the term ends (already aborted when not leading). */
  writeSignal(): AbortSignal {
    return this.term.signal;
  }

  /** The Lease's annotations as last read. */
  annotations(): Record<string, string> {
    return this.lease?.metadata.annotations ?? {};
  }

  /**
   * Seeds expiry judgement with an earlier sighting of the Lease record (`key`: holder|renewTime|resourceVersion,
   * unchanged since `atMs` on this replica's clock), so a record already seen unchanged for the lease duration
   * counts as expired at the first attempt. Ignored once the elector has read the Lease itself.
   */
  seenSince(key: string, atMs: number): void {
    if (!this.observed) this.observed = { key, at: atMs };
  }

  /** Calls `fn` when leadership changes. */
  onChange(fn: (leader: boolean) => void): void {
    this.changeListeners.push(fn);
  }

  /** Calls `fn` (on the holder) when a follower asks for a reconcile. */
  onRequest(fn: () => void): void {
    this.requestListeners.push(fn);
  }

  /** Starts trying to acquire and renewing, every renewMs. */
  start(): Promise<boolean> {
    const loop = async () => {
      await this.attemptTracked();
      if (this.stopped) return;
      this.timer = setTimeout(loop, this.opts.renewMs);
      this.timer.unref?.();
    };
    return this.attemptTracked().then((l) => {
      if (!this.stopped) {
        this.timer = setTimeout(loop, this.opts.renewMs);
        this.timer.unref?.();
      }
      return l;
    });
  }

  /** Stops renewing (after the attempt in flight, if any); releases the Lease when held, so a follower takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inflight?.catch(() => {});
    if (!this.leader) return;
    this.setLeader(false, "released");
    // Bounded: a hung lease cluster must not hold the shutdown; the Lease then simply expires.
    const bound = scopedSignal([], this.opts.renewDeadlineMs, "lease release");
    try {
      const lease = await this.client.get(this.ref(), { signal: bound.signal });
      const spec = (lease?.spec ?? {}) as LeaseSpec;
      if (lease && spec.holderIdentity === this.opts.identity) {
        await this.client.update(
          { ...lease, spec: { ...spec, holderIdentity: "", renewTime: microTime(new Date(0)) } },
          { signal: bound.signal },
        );
        this.log.info({ lease: this.opts.name }, "lease released");
      }
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "lease release failed");
    } finally {
      bound.dispose();
    }
  }

  /** Asks the holder for a reconcile (from a follower). */
  async requestReconcile(): Promise<void> {
    await this.client.patch(
      this.ref(),
      { metadata: { annotations: { [REQUEST_ANNOTATION]: this.clock.now().toISOString() } } },
      { fieldManager: `crosslink-lease-${this.opts.identity}` },
    );
  }

  private attemptTracked(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const p = this.tryOnce();
    this.inflight = p;
    return p;
  }

  /** One acquire-or-renew attempt; returns whether this replica leads afterwards. */
  async tryOnce(): Promise<boolean> {
    // One attempt may take at most the renew deadline: past it, its answer could not keep the lead anyway.
    const bound = scopedSignal([], this.opts.renewDeadlineMs, "lease renewal");
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const ok = await this.attempt(bound.signal);
        if (ok !== "conflict") return ok;
      }
      return this.isLeader();
    } catch (err) {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err), lease: this.opts.name },
        "lease: cannot reach the lease cluster",
      );
      if (this.leader && !this.isLeader()) this.setLeader(false, "renew deadline passed");
      return this.isLeader();
    } finally {
      bound.dispose();
    }
  }

  private ref() {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: this.opts.namespace,
      name: this.opts.name,
    };
  }

  private async attempt(signal: AbortSignal): Promise<boolean | "conflict"> {
    const now = this.clock.now();
    const lease = await this.client.get(this.ref(), { signal });
    this.lease = lease;
    const durationSeconds = Math.max(1, Math.ceil(this.opts.leaseDurationMs / 1000));
    if (!lease) {
      const created = await this.write(() =>
        this.client.apply(
          {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: {
              name: this.opts.name,
              namespace: this.opts.namespace,
              ...(this.opts.labels ? { labels: this.opts.labels } : {}),
            },
            spec: {
              holderIdentity: this.opts.identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          { fieldManager: `crosslink-lease-${this.opts.identity}`, signal },
        ),
      );
      return this.after(created, now);
    }
    const spec = (lease.spec ?? {}) as LeaseSpec;
    const key = `${spec.holderIdentity ?? ""}|${spec.renewTime ?? ""}|${lease.metadata.resourceVersion ?? ""}`;
    if (this.observed?.key !== key) this.observed = { key, at: now.getTime() };
    const mine = spec.holderIdentity === this.opts.identity;
    const free = !spec.holderIdentity;
    const expired = now.getTime() - this.observed.at > (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (!mine && !free && !expired) {
      if (this.leader) this.setLeader(false, `held by ${spec.holderIdentity}`);
      return false;
    }
    if (mine) this.checkRequest(lease);
    const next: KubeObject = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(now),
        ...(mine ? {} : { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
      },
    };
    return this.after(await this.write(() => this.client.update(next, { signal })), now);
  }

  private async write(fn: () => Promise<KubeObject>): Promise<KubeObject | "conflict"> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KubeError && (err.code === "KUBE_CONFLICT" || err.code === "KUBE_APPLY_CONFLICT"))
        return "conflict";
      throw err;
    }
  }

  private after(res: KubeObject | "conflict", at: Date): boolean | "conflict" {
    if (res === "conflict") return "conflict";
    this.lease = res;
    const until = at.getTime() + this.opts.renewDeadlineMs;
    const left = until - this.clock.now().getTime();
    if (left <= 0) {
      // The renewal succeeded too late to count: others may already judge the Lease expired.
      if (this.leader) this.setLeader(false, "renewal answered after the renew deadline");
      return false;
    }
    this.leaderUntil = until;
    if (!this.leader) this.setLeader(true);
    // Without a further renewal in time, the term ends at the deadline.
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    this.fenceTimer = setTimeout(() => {
      if (this.leader && !this.isLeader()) this.setLeader(false, "renew deadline passed");
    }, left);
    this.fenceTimer.unref?.();
    return true;
  }

  private checkRequest(lease: KubeObject): void {
    const req = lease.metadata.annotations?.[REQUEST_ANNOTATION];
    if (req && req !== this.lastRequest) {
      const first = this.lastRequest === undefined;
      this.lastRequest = req;
      if (!first) for (const fn of this.requestListeners) fn();
    }
  }

  private setLeader(leader: boolean, why?: string): void {
    this.leader = leader;
    if (leader) this.term = new AbortController();
    else {
      if (this.fenceTimer) clearTimeout(this.fenceTimer);
      this.fenceTimer = undefined;
      this.term.abort(new Error(`lease lost (${why ?? "not renewed"})`));
    }
    this.log.info(
      {
        lease: `${this.opts.namespace}/${this.opts.name}`,
        identity: this.opts.identity,
        leader,
        ...(why ? { reason: why } : {}),
      },
      leader ? "lease acquired" : "lease lost",
    );
    for (const fn of this.changeListeners) fn(leader);
  }
}

function abortedController(reason: string): AbortController {
  const c = new AbortController();
  c.abort(new Error(reason));
  return c;
}
