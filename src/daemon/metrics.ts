/** Prometheus metrics of the daemon (prom-client), in a registry of its own. */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type LabelValues,
  type MetricValue,
} from "prom-client";
import type { CertificateExpiry } from "../pki/expiry.js";

/** A counter's or gauge's series, as forgetClustersBut reads and removes them. */
interface PerClusterSeries {
  get(): Promise<{ values: MetricValue<string>[] }>;
  remove(labels: LabelValues<string>): void;
}

/** The daemon's metrics. */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly reconcileDuration = new Histogram({
    name: "crosslink_reconcile_duration_seconds",
    help: "Duration of a reconcile (fetch, validate, observe, plan, apply).",
    labelNames: ["result"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly reconciles = new Counter({
    name: "crosslink_reconciles_total",
    help: "Reconciles by result.",
    labelNames: ["result", "trigger"],
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: "crosslink_last_success_timestamp_seconds",
    help: "Time of the last reconcile in which every cluster converged.",
    registers: [this.registry],
  });
  readonly appliedChanges = new Counter({
    name: "crosslink_applied_changes_total",
    help: "Actions applied, by cluster, action and status.",
    labelNames: ["cluster", "action", "status"],
    registers: [this.registry],
  });
  readonly drift = new Gauge({
    name: "crosslink_planned_changes",
    help: "Actions the last plan had, by cluster.",
    labelNames: ["cluster"],
    registers: [this.registry],
  });
  readonly reachable = new Gauge({
    name: "crosslink_cluster_reachable",
    help: "1 when the cluster was observed in the last reconcile.",
    labelNames: ["cluster"],
    registers: [this.registry],
  });
  readonly fetchDuration = new Histogram({
    name: "crosslink_git_fetch_duration_seconds",
    help: "Duration of a source sync.",
    labelNames: ["result"],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly fetches = new Counter({
    name: "crosslink_git_fetches_total",
    help: "Source syncs by result.",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly revision = new Gauge({
    name: "crosslink_revision_info",
    help: "The revision in each role (head, applied, rejected): value 1.",
    labelNames: ["role", "revision"],
    registers: [this.registry],
  });
  readonly valid = new Gauge({
    name: "crosslink_topology_valid",
    help: "1 when the head revision is valid and in force.",
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "crosslink_leader",
    help: "1 when this replica holds the Lease (or runs alone).",
    registers: [this.registry],
  });
  readonly branchMoves = new Counter({
    name: "crosslink_source_non_fast_forward_total",
    help: "Moves of the followed branch that were not fast-forwards, by relation (rewind, diverged, unknown) and whether they were refused.",
    labelNames: ["relation", "refused"],
    registers: [this.registry],
  });
  readonly clusterWrites = new Counter({
    name: "crosslink_cluster_writes_total",
    help: "Write requests this replica sent to each cluster (answered or not); with --shards, held=false counts those to clusters it does not hold: only TokenRequests for the credentials of its own clusters' links, which store nothing.",
    labelNames: ["cluster", "held"],
    registers: [this.registry],
  });
  readonly shardMembers = new Gauge({
    name: "crosslink_shard_member",
    help: "With --shards: 1 for each live member of the shard group, as this replica sees it.",
    labelNames: ["member"],
    registers: [this.registry],
  });
  readonly shardClusters = new Gauge({
    name: "crosslink_shard_cluster",
    help: "With --shards: the clusters assigned to this replica; 1 when it holds the cluster's Lease, 0 while it waits for it.",
    labelNames: ["cluster"],
    registers: [this.registry],
  });
  readonly suspended = new Gauge({
    name: "crosslink_suspended",
    help: "1 when writes are suspended.",
    registers: [this.registry],
  });

  readonly certificateExpiry = new Gauge({
    name: "crosslink_certificate_expiry_timestamp_seconds",
    help: "When each trust anchor in a cluster's bundle and each cluster's identity issuer expires (notAfter, Unix seconds), by cluster, kind (anchor|issuer), name and the topology anchor it is or chains to.",
    labelNames: ["cluster", "kind", "name", "anchor"],
    registers: [this.registry],
  });

  readonly watchUp = new Gauge({
    name: "crosslink_watch_up",
    help: "1 while a watch's stream is open, 0 while it is re-established (backoff), by cluster, kind, namespace and selector.",
    labelNames: ["cluster", "kind", "namespace", "selector"],
    registers: [this.registry],
  });
  readonly watchObjects = new Gauge({
    name: "crosslink_watch_objects",
    help: "Objects a watch cache holds, by cluster, kind, namespace and selector.",
    labelNames: ["cluster", "kind", "namespace", "selector"],
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: "crosslink_watch_restarts_total",
    help: "Watches that broke and were re-opened with backoff, by cluster and kind.",
    labelNames: ["cluster", "kind"],
    registers: [this.registry],
  });
  readonly watchRelists = new Counter({
    name: "crosslink_watch_relists_total",
    help: "LISTs made again after a watch's version was gone (410), by cluster and kind.",
    labelNames: ["cluster", "kind"],
    registers: [this.registry],
  });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: "crosslink_" });
  }

  private readonly shown = new Map<string, string>();

  /** Sets the revision shown for a role, dropping the previous one. */
  setRevision(role: "head" | "applied" | "rejected", revision: string | undefined): void {
    const old = this.shown.get(role);
    if (old === revision) return;
    if (old !== undefined) this.revision.remove({ role, revision: old });
    if (revision) {
      this.revision.set({ role, revision }, 1);
      this.shown.set(role, revision);
    } else this.shown.delete(role);
  }

  /**
   * Drops the per-cluster series (reachable, planned changes, applied changes, writes) of clusters the topology no
   * longer has: a removed cluster's alerts stop, and a daemon whose clusters come and go keeps no series for them.
   */
  async forgetClustersBut(clusters: ReadonlySet<string>): Promise<void> {
    const perCluster: PerClusterSeries[] = [this.reachable, this.drift, this.appliedChanges, this.clusterWrites];
    for (const metric of perCluster)
      for (const v of (await metric.get()).values)
        if (!clusters.has(String(v.labels.cluster ?? ""))) metric.remove(v.labels);
  }

  /** Replaces the certificate expiry series with those observed now (a rotated certificate's series disappears). */
  setCertificateExpiries(rows: readonly CertificateExpiry[]): void {
    this.certificateExpiry.reset();
    for (const r of rows)
      this.certificateExpiry.set(
        { cluster: r.cluster, kind: r.kind, name: r.name, anchor: r.anchor },
        Math.floor(r.notAfter.getTime() / 1000),
      );
  }

  /** The exposition text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
