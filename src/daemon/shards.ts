/**
 * Sharding over Leases (`crosslink run --shards`): every replica holds a
 * membership Lease, labelled with the group, and lists the group's members;
 * the topology's clusters are assigned over the live members by rendezvous
 * hashing (shard-assign.ts). For each cluster assigned to it a replica
 * competes for that cluster's own Lease with a LeaseElector (the election's
 * timings and fencing), and writes to the cluster only while it holds that
 * Lease with margin; a cluster no longer assigned to it is released at once,
 * so its new owner takes it on its next attempt. A replica that cannot renew
 * its own membership within the renew deadline releases every cluster.
 */
import type { KubeObject } from "../kube/object.js";
import type { ClusterClient } from "../kube/port.js";
import { scopedSignal } from "../util/abort.js";
import type { Clock } from "./clock.js";
import { LeaseElector, leaseTimings, microTime, type LeaseClient } from "./lease.js";
import type { Logger } from "./log.js";
import { LeaseLiveness, assignClusters, handovers, leaseNamePart } from "./shard-assign.js";

/** Label naming the shard group of a Lease. */
export const SHARD_GROUP_LABEL = "crosslink.dev/shard-group";
/** Label saying what a shard Lease is for: `member` or `cluster`. */
export const SHARD_ROLE_LABEL = "crosslink.dev/shard-lease";

/** The client calls sharding needs: the election's, and a LIST of the members. */
export type ShardLeaseClient = LeaseClient & Pick<ClusterClient, "list">;

/** Settings of the shard group. */
export interface ShardOptions {
  namespace: string;
  /** The group's name (the Lease name of the election): member and cluster Leases are named after it. */
  group: string;
  identity: string;
  leaseDurationMs: number;
}

/** The per-cluster port of the reconcile loop: may this replica reconcile and write this cluster now. */
export interface ClusterGate {
  /** Tells the gate the topology's clusters; it competes for the Leases of those assigned to this replica. */
  track(clusters: readonly string[]): void;
  /** Whether this replica reconciles the cluster now: assigned to it and its Lease held with margin. */
  owns(cluster: string): boolean;
  /** The member the cluster is assigned to, as this replica sees it. */
  ownerOf(cluster: string): string | undefined;
}

/** One term of this replica on a cluster's Lease: when it started and ended, and the writes it sent meanwhile. */
export interface ShardTerm {
  cluster: string;
  from: string;
  /** Absent while the term lasts. */
  to?: string;
  writes: number;
}

/** What /status shows of the shard group. */
export interface ShardStatus {
  identity: string;
  members: string[];
  /** Clusters assigned to this replica. */
  assigned: string[];
  /** Of those, the ones whose Lease it holds with margin (it reconciles them). */
  owned: string[];
  /** This replica's latest terms on cluster Leases (at most 100), oldest first. */
  terms: ShardTerm[];
}

/** The terms of this replica on cluster Leases, with the writes sent in each (from a per-cluster running count). */
export class ShardTerms {
  private readonly terms: (ShardTerm & { start: number })[] = [];

  constructor(private readonly writesSent: (cluster: string) => number) {}

  /** Records a term starting or ending at `at`. */
  change(cluster: string, owned: boolean, at: Date): void {
    const open = this.terms.find((t) => t.cluster === cluster && t.to === undefined);
    if (owned && !open) {
      this.terms.push({ cluster, from: at.toISOString(), writes: 0, start: this.writesSent(cluster) });
      if (this.terms.length > 100) this.terms.splice(0, this.terms.length - 100);
    } else if (!owned && open) {
      open.writes = this.writesSent(cluster) - open.start;
      open.to = at.toISOString();
    }
  }

  /** The terms, open ones with their writes so far. */
  list(): ShardTerm[] {
    return this.terms.map(({ start, ...t }) => (t.to ? t : { ...t, writes: this.writesSent(t.cluster) - start }));
  }
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  renewTime?: string;
}

/** The shard member: its membership Lease, the live members, the assignment and one elector per assigned cluster. */
export class ShardCoordinator implements ClusterGate {
  private readonly liveness = new LeaseLiveness();
  /** The group's cluster Leases as listed, by name: a new owner judges expiry from its earlier sightings. */
  private readonly clusterLeases = new LeaseLiveness();
  private members: string[] = [];
  private clusters: string[] = [];
  private assignment = new Map<string, string>();
  private readonly electors = new Map<string, LeaseElector>();
  private memberUntil = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly timings;
  private readonly changeListeners: ((cluster: string, owned: boolean, at: Date) => void)[] = [];
  private readonly assignmentListeners: (() => void)[] = [];

  constructor(
    private readonly client: ShardLeaseClient,
    private readonly opts: ShardOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.timings = leaseTimings(opts.leaseDurationMs);
  }

  /** The membership Lease's name. */
  get memberLease(): string {
    return `${this.opts.group}-member-${leaseNamePart(this.opts.identity)}`;
  }

  /** The name of a cluster's Lease. */
  clusterLease(cluster: string): string {
    return `${this.opts.group}-cluster-${leaseNamePart(cluster)}`;
  }

  /**
   * Calls `fn` when this replica gains or loses a cluster's Lease, with the time the term started or ended
   * (a loss: its renew deadline when that passed before the loss was noticed).
   */
  onChange(fn: (cluster: string, owned: boolean, at: Date) => void): void {
    this.changeListeners.push(fn);
  }

  /** Calls `fn` when the live members or the assignment change. */
  onAssignment(fn: () => void): void {
    this.assignmentListeners.push(fn);
  }

  track(clusters: readonly string[]): void {
    const next = [...new Set(clusters)].sort();
    if (next.join("\n") === this.clusters.join("\n")) return;
    this.clusters = next;
    this.reassign();
  }

  owns(cluster: string): boolean {
    return !this.stopped && (this.electors.get(cluster)?.isLeader() ?? false);
  }

  ownerOf(cluster: string): string | undefined {
    return this.assignment.get(cluster);
  }

  /** The elector of a cluster assigned to this replica (for its term's signal). */
  elector(cluster: string): LeaseElector | undefined {
    return this.electors.get(cluster);
  }

  /** The group as this replica sees it (its terms are kept by the caller). */
  status(): Omit<ShardStatus, "terms"> {
    const assigned = [...this.assignment].filter(([, m]) => m === this.opts.identity).map(([c]) => c);
    return {
      identity: this.opts.identity,
      members: [...this.members],
      assigned,
      owned: assigned.filter((c) => this.owns(c)),
    };
  }

  /** Joins the group (one membership round now), then renews and re-lists every renew period. */
  async start(): Promise<void> {
    await this.round();
    const loop = async () => {
      if (this.stopped) return;
      await this.round();
      if (this.stopped) return;
      this.timer = setTimeout(loop, this.timings.renewMs);
      this.timer.unref?.();
    };
    this.timer = setTimeout(loop, this.timings.renewMs);
    this.timer.unref?.();
  }

  /** Leaves the group: releases every cluster Lease and the membership Lease, so the others take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.electors.values()].map((e) => e.stop()));
    this.electors.clear();
    const bound = scopedSignal([], this.timings.renewDeadlineMs, "member lease release");
    try {
      const ref = this.memberRef();
      const lease = await this.client.get(ref, { signal: bound.signal });
      if (lease && (lease.spec as LeaseSpec | undefined)?.holderIdentity === this.opts.identity)
        await this.client.update(
          { ...lease, spec: { ...(lease.spec as LeaseSpec), holderIdentity: "", renewTime: microTime(new Date(0)) } },
          { signal: bound.signal },
        );
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "member lease release failed");
    } finally {
      bound.dispose();
    }
  }

  /** One round: renew the membership, list the members, reassign. Never throws. */
  async round(): Promise<void> {
    const start = this.clock.now();
    const bound = scopedSignal([], this.timings.renewDeadlineMs, "shard membership");
    try {
      await this.renewMember(start, bound.signal);
      const answered = this.clock.now().getTime();
      if (answered < start.getTime() + this.timings.renewDeadlineMs)
        this.memberUntil = start.getTime() + this.timings.renewDeadlineMs;
      const leases = await this.client.list("coordination.k8s.io/v1", "Lease", {
        namespace: this.opts.namespace,
        labelSelector: `${SHARD_GROUP_LABEL}=${this.opts.group}`,
        signal: bound.signal,
      });
      const listedAt = this.clock.now().getTime();
      const role = (l: KubeObject) => l.metadata.labels?.[SHARD_ROLE_LABEL];
      this.clusterLeases.observe(
        leases.filter((l) => role(l) === "cluster").map((l) => ({ ...leaseRecord(l), identity: l.metadata.name })),
        listedAt,
      );
      const live = this.liveness.observe(leases.filter((l) => role(l) === "member").map(leaseRecord), listedAt);
      this.setMembers(live);
    } catch (err) {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err), lease: this.memberLease },
        "shards: cannot renew the membership or list the members",
      );
      this.setMembers(this.liveness.live(this.clock.now().getTime()));
    } finally {
      bound.dispose();
    }
  }

  private memberRef() {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: this.opts.namespace,
      name: this.memberLease,
    };
  }

  /** Creates or renews the membership Lease (server-side apply: only this replica writes it). */
  private async renewMember(now: Date, signal: AbortSignal): Promise<KubeObject> {
    return this.client.apply(
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: this.memberLease,
          namespace: this.opts.namespace,
          labels: { [SHARD_GROUP_LABEL]: this.opts.group, [SHARD_ROLE_LABEL]: "member" },
        },
        spec: {
          holderIdentity: this.opts.identity,
          leaseDurationSeconds: Math.max(1, Math.ceil(this.opts.leaseDurationMs / 1000)),
          renewTime: microTime(now),
        },
      },
      { fieldManager: `crosslink-shard-${leaseNamePart(this.opts.identity)}`, force: true, signal },
    );
  }

  private setMembers(live: string[]): void {
    // This replica counts itself only while its own membership is renewed with margin.
    const self = this.clock.now().getTime() < this.memberUntil;
    const members = live.filter((m) => m !== this.opts.identity);
    if (self) members.push(this.opts.identity);
    members.sort();
    const changed = members.join("\n") !== this.members.join("\n");
    if (changed) {
      this.log.info({ identity: this.opts.identity, members, self }, "shards: members changed");
      this.members = members;
    }
    this.reassign();
    if (changed) for (const fn of this.assignmentListeners) fn();
  }

  private reassign(): void {
    if (this.stopped) return;
    const next = assignClusters(this.clusters, this.members);
    const moved = handovers(this.assignment, next);
    this.assignment = next;
    for (const [cluster, [from, to]] of moved)
      if (from === this.opts.identity || to === this.opts.identity)
        this.log.info(
          { cluster, from: from ?? null, to: to ?? null, identity: this.opts.identity },
          "shards: handover",
        );
    for (const [cluster, elector] of [...this.electors]) {
      if (next.get(cluster) === this.opts.identity) continue;
      this.electors.delete(cluster);
      void elector.stop();
    }
    for (const [cluster, owner] of next) {
      if (owner !== this.opts.identity || this.electors.has(cluster)) continue;
      const elector = new LeaseElector(
        this.client,
        {
          namespace: this.opts.namespace,
          name: this.clusterLease(cluster),
          identity: this.opts.identity,
          labels: { [SHARD_GROUP_LABEL]: this.opts.group, [SHARD_ROLE_LABEL]: "cluster" },
          ...this.timings,
        },
        this.clock,
        this.log,
      );
      // Seen unchanged since then by this replica: a dead owner's Lease counts as expired as soon as its member does.
      const seen = this.clusterLeases.since(this.clusterLease(cluster));
      if (seen) elector.seenSince(seen.key, seen.at);
      elector.onChange((owned) => {
        const now = this.clock.now().getTime();
        const at = new Date(owned ? now : Math.min(now, elector.heldUntil()));
        for (const fn of this.changeListeners) fn(cluster, owned, at);
      });
      this.electors.set(cluster, elector);
      elector.start().catch(() => {});
    }
    if (moved.size) for (const fn of this.assignmentListeners) fn();
  }
}

function leaseRecord(lease: KubeObject) {
  const spec = (lease.spec ?? {}) as LeaseSpec;
  return {
    identity: spec.holderIdentity ?? "",
    key: `${spec.holderIdentity ?? ""}|${spec.renewTime ?? ""}|${lease.metadata.resourceVersion ?? ""}`,
    leaseDurationMs: (spec.leaseDurationSeconds ?? 15) * 1000,
  };
}
