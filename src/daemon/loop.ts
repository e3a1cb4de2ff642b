/**
 * The daemon's core: one reconcile = sync the source → validate → observe →
 * plan → apply, serialized (never two at once), with triggers arriving during
 * a reconcile coalesced into one more run. Every port is injected (source,
 * cluster clients, clock, leadership, suspension), so this is tested without
 * a process, a server or a timer. The engine runs through the composition
 * root (engine/reconcile.ts) with one abort signal per reconcile, fired by
 * stop() and by the end of the Lease term, and the write fence `canWrite`
 * checked before every write. `status.reconciling` shows the run in progress.
 */
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import type { Diagnostic } from "../diagnostics.js";
import { formatDiagnostics } from "../diagnostics.js";
import type { ChangeSet } from "../engine/apply.js";
import { declarationsOf, type Declarations } from "../engine/plan/declarations.js";
import { hasChanges, type Plan } from "../engine/plan/actions.js";
import {
  reconcileEach,
  reconcileOptions,
  type ReconcileRun,
  type ProgressEvent,
  type ReconcileOptions,
} from "../engine/reconcile.js";
import type { ClusterFacts, ClusterObservation } from "../engine/facts.js";
import { DISCOVERY_TTL_MS } from "../kube/http-client.js";
import type { ClusterClient } from "../kube/port.js";
import { certificateExpiries, expiresSoon } from "../pki/expiry.js";
import { allowsMassPrune } from "../review/git-load.js";
import { TRAILER_ALLOWANCE } from "../review/safety.js";
import { countPlan } from "../report/summary.js";
import { SourceError } from "../source/errors.js";
import type { Source, SourceSnapshot } from "../source/types.js";
import type { Topology } from "../topology/types.js";
import { abortText } from "../util/abort.js";
import { errorMessage } from "../util/concurrency.js";
import { ClusterBackoff, type BackoffPolicy } from "../util/backoff.js";
import type { Clock } from "./clock.js";
import type { Logger } from "./log.js";
import type { DaemonMetrics } from "./metrics.js";
import type { ClusterGate } from "./shards.js";
import { checkMove, type RewindPolicy } from "./rewind.js";
import {
  initialStatus,
  pushError,
  type ClusterStatus,
  type DaemonStatus,
  type ReconcileInProgress,
  type ReconcilePhase,
} from "./status.js";
import { validateSnapshot } from "./validate.js";

/** Cluster clients for one topology, and how to release them. */
export interface ClusterAccessLike {
  clients: ReadonlyMap<string, ClusterClient>;
  diagnostics: Diagnostic[];
  /** Releases the clients (and their watches), but those of `keep`: the access of a newer topology holds them. */
  close(keep?: ReadonlySet<ClusterClient>): void;
  /** True when the credentials these clients were built from changed (rotated kubeconfig files): build anew. */
  stale?(): boolean;
  /**
   * With watch caches: how many changes the watches of these clients have brought (events, relists, a watch
   * down or up again); undefined while a cluster or a name (its LIST refused: plain GETs) is read without a
   * watch or a watch is not open. Absent (poll): every reconcile reads the clusters, no tick is skipped as
   * unchanged.
   */
  watchGeneration?(): number | undefined;
  /** With watch caches: the watches these clusters' reads use from now on are the ones releaseUnread keeps. */
  markReads?(clusters: readonly string[]): void;
  /** With watch caches: releases the watches of these clusters no read used since markReads; returns how many. */
  releaseUnread?(clusters: readonly string[]): number;
}

/**
 * Builds the cluster clients of a topology (the kube edge). `previous`: the access in use (not stale), whose
 * client a cluster reached the same way keeps (with its watch cache); the loop then closes `previous` but for
 * the clients the new access holds.
 */
export type ClientsFactory = (topology: Topology, previous?: ClusterAccessLike) => ClusterAccessLike;

/** The ports the loop runs through. */
export interface LoopDeps {
  source: Source;
  clients: ClientsFactory;
  clock: Clock;
  log: Logger;
  metrics: DaemonMetrics;
  /** Whether this replica may write now: it holds the Lease with margin, or there is no election. Checked before every write. */
  canWrite(): boolean;
  /** The signal of the current Lease term (aborted when it ends); absent without an election. */
  writeSignal?(): AbortSignal;
  /** Whether writes are suspended (flag, file or Lease annotation). */
  suspended(): Promise<boolean>;
  /** With `--shards`: which clusters this replica reconciles and may write (the others are left alone). */
  clusters?: ClusterGate;
}

/** Settings of the loop. */
export interface LoopOptions {
  /** `heal`: drift is reverted; `report`: drift is planned and reported, only new revisions are applied. */
  drift: "heal" | "report";
  /** A tick whose revision has not moved re-observes only when this long has passed since the last reconcile (0: every tick). */
  driftIntervalMs: number;
  /** The engine's settings (field manager, concurrency, deadlines, allow-mass-prune…); unset ones take the composition root's defaults. */
  engine: Partial<Omit<ReconcileOptions, "now" | "signal" | "mayWrite" | "onProgress">>;
  backoff: BackoffPolicy;
  identity: string;
  role: DaemonStatus["role"];
  /** What to do when the branch moves back; default: log and count, refuse nothing. */
  rewind?: RewindPolicy;
  /**
   * With watch caches: the longest a run of ticks skipped as unchanged may last; a tick this long after the
   * last reconcile reconciles whatever the watches say (time-based checks: certificate expiry, suspension).
   * Default UNCHANGED_CEILING_MS; 0: never skip.
   */
  unchangedCeilingMs?: number;
}

/**
 * How long ticks may be skipped as unchanged (see LoopOptions.unchangedCeilingMs): the reuse time of a
 * discovery answer (kube/http-client.ts DISCOVERY_TTL_MS), the shortest period the cache refreshes anything.
 */
export const UNCHANGED_CEILING_MS = DISCOVERY_TTL_MS;

/**
 * A run gives way to a waiting trigger (leaving its unfinished clusters, observing or applying, to finish alone)
 * only once it has lasted this long.
 */
export const YIELD_AFTER_MS = 3_000;

/** The trigger of a reconcile a watch event asked for. */
export const WATCH_TRIGGER = "watch";

/** What one reconcile did, for tests and the benchmark. */
export interface TickResult {
  trigger: string;
  revision?: string;
  reconciled: boolean;
  /** `unchanged`: nothing was observed nor planned: same revision and clusters, no watch change since a clean reconcile. */
  skipped?: "unchanged";
  wrote: boolean;
  plan?: Plan;
  changes?: ChangeSet;
  snapshot?: SourceSnapshot;
  error?: string;
}

/**
 * Whether a tick re-observes for drift (pure): the first one; a watch event (drift seen, checked at once whatever
 * the interval); once the drift interval has passed since the last reconcile; and when the clock moved back
 * before it (else drift would go unchecked until the clock caught up again).
 */
export function driftDue(
  trigger: string,
  lastReconcileAt: number | undefined,
  nowMs: number,
  intervalMs: number,
): boolean {
  if (lastReconcileAt === undefined || trigger.split("+").includes(WATCH_TRIGGER)) return true;
  const elapsed = nowMs - lastReconcileAt;
  return elapsed < 0 || elapsed >= intervalMs;
}

/** The serialized reconcile loop. */
export class ReconcileLoop {
  readonly status: DaemonStatus;
  private running?: Promise<void>;
  private pending?: string;
  private stopping = false;
  private readonly stopController = new AbortController();
  private lastGood?: { revision: string; topology: Topology; message?: string; massPruneAllowed: boolean };
  private appliedRevision?: string;
  /** What the last applied revision declared: the prune guard's "before" (undefined until one converged: the clusters' labels). */
  private appliedDeclarations?: Declarations;
  private lastReconcileAt?: number;
  private access?: { topology: Topology; access: ClusterAccessLike };
  /**
   * Clusters whose watches have not yet been sorted by the topology in force: those its reads do not use (the
   * previous topology's, the first reconcile's reads of a cluster it had not converged) are released after the
   * first run that finds the cluster converged under it.
   */
  private readonly unsorted = new Set<string>();
  private readonly backoff: ClusterBackoff;
  private readonly listeners: ((r: TickResult) => void)[] = [];
  /** Clusters a finished run left observing (hung, or waiting for one that is) or applying, with since when. */
  private readonly inflight = new Map<string, { since: string; doing: "observed" | "applied" }>();
  /** What each cluster is doing now (observe, wait, apply), in this run or one that left it behind. */
  private readonly active = new Map<string, ReconcileInProgress["clusters"][number]>();
  /** That work, awaited by stop(). */
  private readonly detached = new Set<Promise<void>>();
  /** Each cluster's latest observation, for certificate expiry: a run that gave way reports its clusters later. */
  private readonly certificateFacts = new Map<string, ClusterFacts>();
  /** Tells the running reconcile that a trigger is waiting. */
  private yieldNow?: () => void;
  /** With shards: the clusters this replica reconciled last (a change is due at once, as a new revision is). */
  private ownedKey?: string;
  /** Writes already counted per client, for the per-cluster write counter. */
  private readonly writesCounted = new WeakMap<ClusterClient, number>();
  /** With shards: the clusters the latest run held (writes to others can only be TokenRequests for our links). */
  private held?: ReadonlySet<string>;
  /** Writes sent to each cluster since start (every client the loop has used). */
  private readonly writesTotal = new Map<string, number>();
  /** Set when the last reconcile ended clean (no error, no retry pending, nothing planned nor written): what it saw. */
  private quiet?: { generation: number; revision: string; owned?: string; term?: AbortSignal; atMs: number };

  constructor(
    private readonly deps: LoopDeps,
    private readonly opts: LoopOptions,
  ) {
    this.status = initialStatus(deps.source.describe, opts.identity, opts.drift, opts.role);
    this.backoff = new ClusterBackoff(opts.backoff);
  }

  /** Calls `fn` after every reconcile. */
  onTick(fn: (r: TickResult) => void): void {
    this.listeners.push(fn);
  }

  /** Whether a reconcile is running now. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Requests a reconcile. When one is running, the request is coalesced into
   * a single follow-up run; the promise settles when the work it asked for is done.
   */
  trigger(reason: string): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.running) {
      // Coalesced: each reason once, however many times it fired while the run lasted.
      this.pending = !this.pending
        ? reason
        : this.pending.split("+").includes(reason)
          ? this.pending
          : `${this.pending}+${reason}`;
      this.yieldNow?.();
      return this.running;
    }
    const run = this.drain(reason).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** Stops accepting triggers and aborts the running reconcile (no write is sent after this); resolves when it has ended. */
  stop(): Promise<void> {
    this.stopping = true;
    this.pending = undefined;
    this.stopController.abort(new Error("shutting down"));
    return Promise.all([this.running, ...this.detached]).then(() => {});
  }

  /** Ends a cluster's backoff: it can be read again (its watches are open again), the next reconcile observes it. */
  forgetBackoff(cluster: string): void {
    this.backoff.succeed(cluster);
  }

  /** Releases the cluster clients. */
  close(): void {
    this.access?.access.close();
    this.access = undefined;
  }

  private async drain(reason: string): Promise<void> {
    let next: string | undefined = reason;
    while (next && !this.stopping) {
      const result = await this.tick(next);
      for (const l of this.listeners) l(result);
      next = this.pending;
      this.pending = undefined;
    }
  }

  /** One reconcile; never throws. */
  async tick(trigger: string): Promise<TickResult> {
    const { log, metrics, clock } = this.deps;
    const t0 = performance.now();
    const result: TickResult = { trigger, reconciled: false, wrote: false };
    const since = clock.now().toISOString();
    this.status.reconciling = { trigger, since, phase: "sync", phaseSince: since, clusters: [...this.active.values()] };
    try {
      const snapshot = await this.sync();
      if (snapshot) {
        result.snapshot = snapshot;
        if (await this.moveAllowed(snapshot)) await this.consider(snapshot);
      }
      const good = this.lastGood;
      metrics.valid.set(good && good.revision === this.status.revision.head ? 1 : 0);
      if (!good) return this.finish(result, t0, "skipped");
      result.revision = good.revision;
      const gate = this.deps.clusters;
      gate?.track(good.topology.clusters.map((c) => c.name));
      const owned = gate && ownedKey(good.topology, gate);
      const newRevision = good.revision !== this.appliedRevision || owned !== this.ownedKey;
      const due = driftDue(trigger, this.lastReconcileAt, clock.now().getTime(), this.opts.driftIntervalMs);
      if (!newRevision && !due) return this.finish(result, t0, "skipped");
      if (!this.deps.canWrite()) {
        this.status.role = "follower";
        this.quiet = undefined;
        return this.finish(result, t0, "skipped");
      }
      if (this.status.role === "follower") this.status.role = "leader";
      if (!newRevision && (await this.unchanged(good.revision, owned))) {
        result.skipped = "unchanged";
        const at = clock.now().toISOString();
        this.status.unchanged = {
          since: this.status.unchanged?.since ?? at,
          ticks: (this.status.unchanged?.ticks ?? 0) + 1,
        };
        this.status.unchangedTicks = (this.status.unchangedTicks ?? 0) + 1;
        return this.finish(result, t0, "unchanged");
      }
      return await this.reconcile(good, newRevision, result, t0);
    } catch (err) {
      result.error = errorMessage(err);
      pushError(this.status, clock.now(), result.error);
      log.error({ err: result.error, trigger }, "reconcile failed");
      return this.finish(result, t0, "error");
    }
  }

  /**
   * Whether nothing changed since the last reconcile, which ended clean: same revision, owned clusters and Lease
   * term, the same clients (not stale), every watch open and no watch change since it began, no cluster left running,
   * writes suspended or not as then, and less than the ceiling since it ran.
   */
  private async unchanged(revision: string, owned: string | undefined): Promise<boolean> {
    const q = this.quiet;
    const ceiling = this.opts.unchangedCeilingMs ?? UNCHANGED_CEILING_MS;
    if (!q || ceiling <= 0 || q.revision !== revision || q.owned !== owned || this.inflight.size) return false;
    // A new Lease term (leadership lost and won again): another replica may have written meanwhile.
    if (this.deps.writeSignal?.() !== q.term) return false;
    const elapsed = this.deps.clock.now().getTime() - q.atMs;
    if (elapsed < 0 || elapsed >= ceiling) return false; // the clock moved back, or the ceiling is reached
    const access = this.access?.access;
    if (!access || access.stale?.()) return false;
    if (access.watchGeneration?.() !== q.generation) return false;
    return (await this.deps.suspended()) === this.status.suspended;
  }

  private async sync(): Promise<SourceSnapshot | undefined> {
    const { source, metrics, clock, log } = this.deps;
    const start = performance.now();
    const at = clock.now();
    try {
      const snapshot = await source.sync();
      metrics.fetches.inc({ result: "ok" });
      metrics.fetchDuration.observe({ result: "ok" }, (performance.now() - start) / 1000);
      if (this.status.fetch.ok === false) log.info({ source: source.describe }, "source reachable again");
      this.status.fetch = { lastAt: at.toISOString(), ok: true };
      this.status.revision.head = snapshot.revision;
      metrics.setRevision("head", snapshot.revision);
      return snapshot;
    } catch (err) {
      const code = err instanceof SourceError ? err.code : "SOURCE_FETCH";
      const message = errorMessage(err);
      metrics.fetches.inc({ result: "error" });
      metrics.fetchDuration.observe({ result: "error" }, (performance.now() - start) / 1000);
      this.status.fetch = { lastAt: at.toISOString(), ok: false, error: message, code };
      if (err instanceof SourceError && err.code === "SOURCE_SIGNATURE" && err.revision) {
        this.reject(err.revision, "signature", message, []);
        this.status.revision.head = err.revision;
      }
      pushError(this.status, at, message);
      log.warn({ code, err: message }, "source sync failed; keeping the last good revision");
      return undefined;
    }
  }

  /** Records a move of the branch that is not a fast-forward; false when it is refused (rewind.ts decides). */
  private async moveAllowed(snapshot: SourceSnapshot): Promise<boolean> {
    const { log, metrics, clock } = this.deps;
    const { move, refusal } = await checkMove(
      snapshot,
      this.appliedRevision ?? this.lastGood?.revision,
      this.opts.rewind ?? { refuseAncestor: false },
      clock.now(),
    );
    if (!move) return true;
    this.status.lastMove = move;
    metrics.branchMoves.inc({ relation: move.relation, refused: String(move.refused) });
    log.warn(
      { from: move.from, to: move.to, relation: move.relation, refused: move.refused },
      "the branch moved without a fast-forward",
    );
    if (!refusal) return true;
    this.reject(snapshot.revision, "rewind", refusal, []);
    pushError(this.status, clock.now(), refusal);
    return false;
  }

  /** Validates a new revision; a valid one becomes the last good, an invalid one is recorded and ignored. */
  private async consider(snapshot: SourceSnapshot): Promise<void> {
    const known = snapshot.revision === this.lastGood?.revision || snapshot.revision === this.status.rejected?.revision;
    if (!snapshot.changed && known) return;
    this.phase("validate");
    const v = await validateSnapshot(snapshot, this.deps.clock.now());
    if (v.topology) {
      this.lastGood = {
        revision: v.revision,
        topology: v.topology,
        ...(snapshot.message !== undefined ? { message: snapshot.message } : {}),
        massPruneAllowed: allowsMassPrune(snapshot.commitMessage ?? ""),
      };
      this.status.revision.lastGood = v.revision;
      this.status.revision.message = snapshot.message;
      this.status.rejected = undefined;
      this.deps.metrics.setRevision("rejected", undefined);
      this.deps.log.info({ revision: v.revision, warnings: v.diagnostics.length }, "revision valid");
      return;
    }
    const errors = v.diagnostics.filter((d) => d.severity === "error");
    this.reject(
      v.revision,
      "invalid",
      `${errors.length} error(s): ${formatDiagnostics(errors.slice(0, 3))}`,
      v.diagnostics,
    );
    this.deps.log.warn(
      {
        revision: v.revision,
        errors: errors.length,
        first: errors[0] && `${errors[0].file}:${errors[0].line}:${errors[0].col} ${errors[0].code}`,
      },
      "revision invalid; keeping the last good revision",
    );
  }

  private reject(
    revision: string,
    reason: "invalid" | "signature" | "rewind",
    message: string,
    diagnostics: Diagnostic[],
  ): void {
    const prev = this.status.rejected;
    const since = prev?.revision === revision ? prev.since : this.deps.clock.now().toISOString();
    this.status.rejected = { revision, reason, message, diagnostics, since };
    this.deps.metrics.setRevision("rejected", revision);
  }

  /**
   * The clients of a topology: those in use while it is the same and their credentials did not change. For a
   * new topology, a cluster reached the same way keeps its client and watches (the factory decides); the
   * others' clients are built, those of clusters that left are closed. Rotated credentials: all built anew.
   */
  private clientsFor(topology: Topology): ClusterAccessLike {
    const current = this.access;
    const stale = current?.access.stale?.() === true;
    if (current && current.topology === topology && !stale) return current.access;
    const previous = stale ? undefined : current?.access;
    if (stale) current?.access.close();
    this.unsorted.clear();
    this.deps.metrics.forgetClustersBut(new Set(topology.clusters.map((c) => c.name))).catch(() => {});
    const access = this.deps.clients(topology, previous);
    const held = new Set(access.clients.values());
    for (const n of access.clients.keys()) this.unsorted.add(n);
    if (previous) {
      previous.close(held);
      const kept = [...access.clients].filter(([name, c]) => previous.clients.get(name) === c);
      this.deps.log.info(
        {
          kept: kept.length,
          built: access.clients.size - kept.length,
          closed: [...previous.clients.values()].filter((c) => !held.has(c)).length,
        },
        "cluster clients for the new topology",
      );
    }
    for (const d of access.diagnostics)
      pushError(this.status, this.deps.clock.now(), `${d.file}:${d.line}:${d.col}: ${d.code}: ${d.message}`);
    this.access = { topology, access };
    return access;
  }

  /**
   * After a run that observed these clusters in full under the topology in force and found them converged
   * (nothing left running, not aborted; no error, nothing blocked nor planned): releases their watches none of
   * its reads used (reads of what is converged are what every later run reads).
   */
  private releaseUnread(access: ClusterAccessLike, marked: readonly string[], plan: Plan): void {
    const clean = marked.filter((n) =>
      plan.clusters.some((cp) => cp.cluster === n && !cp.error && !cp.blocked && !cp.actions.length),
    );
    if (!clean.length) return;
    const released = access.releaseUnread?.(clean) ?? 0;
    for (const n of clean) this.unsorted.delete(n);
    if (released) this.deps.log.info({ clusters: clean, released }, "watches the topology no longer reads released");
  }

  private async reconcile(
    good: { revision: string; topology: Topology; massPruneAllowed: boolean },
    newRevision: boolean,
    result: TickResult,
    t0: number,
  ): Promise<TickResult> {
    const { clock, log, metrics } = this.deps;
    const gate = this.deps.clusters;
    const access = this.clientsFor(good.topology);
    // Read before observing: a watch change from here on makes the next tick reconcile.
    const generation = access.watchGeneration?.();
    this.quiet = undefined;
    delete this.status.unchanged;
    const nowMs = clock.now().getTime();
    const clients = new Map<string, ClusterClient>();
    const backedOff = new Set<string>();
    const busy = new Set<string>();
    // With shards: only the clusters whose Lease this replica holds now are planned and applied.
    const only = gate ? new Set(good.topology.clusters.map((c) => c.name).filter((n) => gate.owns(n))) : undefined;
    this.ownedKey = gate && ownedKey(good.topology, gate);
    this.countWrites();
    this.held = only;
    for (const c of good.topology.clusters) {
      const client = access.clients.get(c.name);
      if (!client) continue;
      if (only && !only.has(c.name)) {
        clients.set(c.name, client); // read only when an owned cluster is rendered from it
        continue;
      }
      if (this.inflight.has(c.name)) busy.add(c.name);
      else if (this.backoff.active(c.name, nowMs)) backedOff.add(c.name);
      else clients.set(c.name, client);
    }
    // This run's reads (of the clusters it plans) say which watches the topology in force uses.
    const marked = [...this.unsorted].filter((n) => clients.has(n) && (!only || only.has(n)));
    if (marked.length) access.markReads?.(marked);
    // The prune guard: before = the last applied revision; allowed by the flag or the trailer on the revision in force.
    const allowedBy = this.opts.engine.allowMassPrune
      ? "--allow-mass-prune"
      : good.massPruneAllowed
        ? TRAILER_ALLOWANCE
        : undefined;
    const term = this.deps.writeSignal?.();
    const signal = term ? AbortSignal.any([this.stopController.signal, term]) : this.stopController.signal;
    setMaxListeners(0, signal);
    const opts = reconcileOptions({
      ...this.opts.engine,
      now: () => clock.now(),
      allowMassPrune: allowedBy !== undefined,
      ...(allowedBy ? { allowedBy } : {}),
      ...(this.appliedDeclarations ? { previous: this.appliedDeclarations } : {}),
      signal,
      ...(only ? { only } : {}),
      mayWrite: (cluster) => !this.stopping && this.deps.canWrite() && (gate?.owns(cluster) ?? true),
      onProgress: (e) => this.progress(e),
    });
    this.phase("observe");
    // Each cluster is planned, and applied when allowed, as soon as the clusters it depends on are observed.
    let suspendedCheck: Promise<boolean> | undefined;
    let suspended = false;
    let mayWrite = false;
    let yieldTimer: NodeJS.Timeout | undefined;
    // A run waiting only on hung clusters yields to the next trigger: they go on alone, and the next run skips them.
    const each = reconcileEach(
      good.topology,
      clients,
      opts,
      async (cp) => {
        if (this.status.reconciling?.phase === "observe") this.phase("plan");
        suspended = await (suspendedCheck ??= this.deps.suspended());
        mayWrite = !suspended && this.deps.canWrite() && !signal.aborted && (this.opts.drift === "heal" || newRevision);
        if (!mayWrite || !cp.actions.length || (gate && !gate.owns(cp.cluster))) return false;
        log.info(
          { revision: good.revision, trigger: result.trigger, cluster: cp.cluster, actions: cp.actions.length },
          "applying",
        );
        this.phase("apply");
        return true;
      },
      Promise.all([
        new Promise<void>((resolve) => {
          this.yieldNow = resolve;
          if (this.pending) resolve(); // a trigger came during sync or validation
        }),
        // Before that age its clusters are slow, not hung: a trigger waits for the run (startup's "leader" trigger
        // made the first run give way at once, and the revision was never recorded as applied).
        new Promise<void>((resolve) => {
          yieldTimer = setTimeout(resolve, Math.max(0, YIELD_AFTER_MS - (performance.now() - t0)));
          yieldTimer.unref();
        }),
      ]).then(() => {}),
    );
    const { run, remaining, applying } = await each.settled;
    // Cleared at once: a pending timer would keep this run's observations and plan alive for YIELD_AFTER_MS
    // (back-to-back ticks held hundreds of runs).
    clearTimeout(yieldTimer);
    this.yieldNow = undefined;
    if (remaining.length) this.detach(good, each.done, remaining, applying, backedOff);
    const { plan } = run;
    result.plan = plan;
    if (marked.length && !remaining.length && !signal.aborted) this.releaseUnread(access, marked, plan);
    this.certificates(good.topology, run.observations);
    result.reconciled = true;
    this.lastReconcileAt = clock.now().getTime();
    this.status.suspended = suspended;
    metrics.suspended.set(suspended ? 1 : 0);
    const changes: ChangeSet | undefined = run.changes;
    if (changes) {
      result.changes = changes;
      result.wrote = true;
      if (signal.aborted || changes.clusters.some((c) => c.error?.startsWith("aborted")))
        log.warn(
          {
            revision: good.revision,
            reason: abortText(signal),
            done: changes.clusters.reduce((n, c) => n + c.results.filter((r) => r.status === "done").length, 0),
          },
          "apply aborted",
        );
    }
    this.countWrites();
    const clusters = [
      ...this.clusterStates(plan, changes, backedOff, busy),
      ...remaining.map((n) => this.stillRunning(n)),
    ];
    if (only) clusters.push(...elsewhere(good.topology, only, gate!));
    this.status.clusters = clusters;
    const clean = clusters.every((c) => c.state === "ok" || c.state === "elsewhere");
    if (clean && converged(plan, changes)) this.markApplied(good);
    else if (hasChanges(plan) && !mayWrite) {
      log.info(
        { revision: good.revision, suspended, drift: this.opts.drift, planned: countPlan(plan.clusters) },
        "changes planned, not applied",
      );
    }
    for (const cp of plan.clusters) metrics.drift.set({ cluster: cp.cluster }, cp.actions.length);
    const status = clean && (!changes || changes.clusters.every((c) => c.converged)) ? "ok" : "partial";
    if (
      generation !== undefined &&
      !changes &&
      !remaining.length &&
      !signal.aborted &&
      status === "ok" &&
      clusters.every((c) => c.error === undefined) &&
      plan.clusters.every((cp) => !cp.actions.length && !cp.error && !cp.blocked)
    )
      this.quiet = {
        generation,
        revision: good.revision,
        ...(this.ownedKey !== undefined ? { owned: this.ownedKey } : {}),
        ...(term ? { term } : {}),
        atMs: nowMs,
      };
    this.status.lastReconcile = {
      at: clock.now().toISOString(),
      trigger: result.trigger,
      durationMs: Math.round(performance.now() - t0),
      wrote: result.wrote,
      plan: countPlan(plan.clusters),
      result: status,
    };
    return this.finish(result, t0, status);
  }

  /** Adds the writes each cluster's client sent since the last count to the per-cluster write counter. */
  private countWrites(): void {
    for (const [name, client] of this.access?.access.clients ?? []) {
      const total = client.counters.writes;
      const delta = total - (this.writesCounted.get(client) ?? 0);
      this.writesCounted.set(client, total);
      if (delta > 0) {
        const held = this.held ? String(this.held.has(name)) : "true";
        this.deps.metrics.clusterWrites.inc({ cluster: name, held }, delta);
        this.writesTotal.set(name, (this.writesTotal.get(name) ?? 0) + delta);
      }
    }
  }

  /** Writes sent to a cluster since start, counted now (each client counts a write as it is sent). */
  writesSent(cluster: string): number {
    this.countWrites();
    return this.writesTotal.get(cluster) ?? 0;
  }

  /** Records a revision as applied: every cluster converged on it. */
  private markApplied(good: { revision: string; topology: Topology }): void {
    const { clock, log, metrics } = this.deps;
    if (this.appliedRevision !== good.revision) log.info({ revision: good.revision }, "revision applied");
    this.appliedRevision = good.revision;
    this.appliedDeclarations = declarationsOf(good.topology);
    this.status.revision.applied = good.revision;
    this.status.revision.appliedAt = clock.now().toISOString();
    metrics.setRevision("applied", good.revision);
  }

  /** Lets the clusters a run left behind finish alone; their states are recorded when they end. */
  private detach(
    good: { revision: string; topology: Topology },
    done: Promise<ReconcileRun>,
    remaining: string[],
    applying: string[],
    backedOff: Set<string>,
  ): void {
    const { topology } = good;
    const since = this.deps.clock.now().toISOString();
    for (const n of remaining) this.inflight.set(n, { since, doing: applying.includes(n) ? "applied" : "observed" });
    const work = done
      .then((run) => {
        const late = run.plan.clusters.filter((cp) => remaining.includes(cp.cluster));
        const states = this.clusterStates(
          { topology: run.plan.topology, clusters: late },
          run.changes,
          backedOff,
          new Set(),
        );
        this.status.clusters = this.status.clusters.map((c) => states.find((x) => x.name === c.name) ?? c);
        // The whole run (the part that settled earlier included) converged: its revision is applied, unless a
        // newer one has been since.
        this.countWrites();
        const clean = this.status.clusters.every((c) => c.state === "ok" || c.state === "elsewhere");
        if (clean && converged(run.plan, run.changes) && this.lastGood?.revision === good.revision)
          this.markApplied(good);
        this.certificates(
          topology,
          run.observations.filter((o) => remaining.includes(o.cluster)),
        );
      })
      .catch((err: unknown) => this.deps.log.error({ err: errorMessage(err), clusters: remaining }, "reconcile failed"))
      .finally(() => {
        for (const n of remaining) this.inflight.delete(n);
        this.detached.delete(work);
      });
    this.detached.add(work);
  }

  /** The state of a cluster an earlier run is still observing (or waiting for) or applying. */
  private stillRunning(name: string): ClusterStatus {
    const left = this.inflight.get(name);
    return {
      name,
      state: "pending",
      planned: 0,
      applied: 0,
      failed: 0,
      error: `still being ${left?.doing ?? "observed"} by the reconcile of ${left?.since ?? "now"}`,
    };
  }

  private clusterStates(
    plan: Plan,
    changes: ChangeSet | undefined,
    backedOff: Set<string>,
    busy: Set<string>,
  ): ClusterStatus[] {
    const { clock, log, metrics } = this.deps;
    const now = clock.now();
    return plan.clusters.map((cp) => {
      const cs = changes?.clusters.find((c) => c.cluster === cp.cluster);
      const applied = cs?.results.filter((r) => r.status === "done").length ?? 0;
      const failed = cs?.results.filter((r) => r.status === "failed").length ?? 0;
      for (const r of cs?.results ?? [])
        metrics.appliedChanges.inc({ cluster: cp.cluster, action: r.action.type, status: r.status });
      const base = { name: cp.cluster, planned: cp.actions.length, applied, failed };
      if (busy.has(cp.cluster)) return this.stillRunning(cp.cluster);
      if (backedOff.has(cp.cluster)) {
        const b = this.backoff.get(cp.cluster);
        metrics.reachable.set({ cluster: cp.cluster }, 0);
        return {
          ...base,
          state: "backoff" as const,
          ...(b ? { error: b.lastError, backoffUntil: new Date(b.until).toISOString(), failures: b.failures } : {}),
        };
      }
      if (cp.error) {
        const b = this.backoff.fail(cp.cluster, cp.error, now.getTime());
        metrics.reachable.set({ cluster: cp.cluster }, 0);
        pushError(this.status, now, cp.error, cp.cluster);
        log.warn(
          { cluster: cp.cluster, err: cp.error, failures: b.failures, backoffUntil: new Date(b.until).toISOString() },
          "cluster unreachable; backing off",
        );
        return {
          ...base,
          state: "unreachable" as const,
          error: cp.error,
          backoffUntil: new Date(b.until).toISOString(),
          failures: b.failures,
        };
      }
      this.backoff.succeed(cp.cluster);
      metrics.reachable.set({ cluster: cp.cluster }, 1);
      const lastObservedAt = now.toISOString();
      if (cp.blocked) return { ...base, state: "blocked" as const, error: cp.blocked, lastObservedAt };
      const error = cs?.error ?? cs?.results.find((r) => r.error)?.error;
      if (error) {
        pushError(this.status, now, error, cp.cluster);
        return { ...base, state: cs && !cs.converged ? ("pending" as const) : ("ok" as const), error, lastObservedAt };
      }
      return { ...base, state: cp.actions.length > applied ? ("pending" as const) : ("ok" as const), lastObservedAt };
    });
  }

  /**
   * Exports every observed anchor's and issuer's expiry (each cluster as last observed, also by a run that gave
   * way); those within 60 days become status warnings.
   */
  private certificates(topology: Topology, observations: readonly ClusterObservation[]): void {
    const now = this.deps.clock.now();
    for (const o of observations) if (o.ok) this.certificateFacts.set(o.cluster, o.facts);
    const names = new Set(topology.clusters.map((c) => c.name));
    for (const name of this.certificateFacts.keys()) if (!names.has(name)) this.certificateFacts.delete(name);
    const rows = certificateExpiries(topology, [...this.certificateFacts.values()]);
    this.deps.metrics.setCertificateExpiries(rows);
    const soon = rows.filter((r) => expiresSoon(r, now));
    if (soon.length)
      this.status.certificateWarnings = soon.map((r) => ({
        cluster: r.cluster,
        kind: r.kind,
        name: r.name,
        anchor: r.anchor,
        notAfter: r.notAfter.toISOString(),
        days: Math.floor((r.notAfter.getTime() - now.getTime()) / 86_400_000),
      }));
    else delete this.status.certificateWarnings;
  }

  /** Marks the phase of the reconcile in progress. */
  private phase(phase: ReconcilePhase): void {
    const r = this.status.reconciling;
    if (r) {
      r.phase = phase;
      r.phaseSince = this.deps.clock.now().toISOString();
    }
  }

  /** Tracks which clusters the reconcile in progress (or one that left them behind) is waiting on, and since when. */
  private progress(e: ProgressEvent): void {
    if (e.state === "start")
      this.active.set(e.cluster, {
        name: e.cluster,
        phase: e.phase,
        since: this.deps.clock.now().toISOString(),
        ...(e.waitingOn ? { waitingOn: e.waitingOn } : {}),
      });
    else this.active.delete(e.cluster);
    if (this.status.reconciling) this.status.reconciling.clusters = [...this.active.values()];
  }

  private finish(
    result: TickResult,
    t0: number,
    outcome: "ok" | "partial" | "error" | "skipped" | "unchanged",
  ): TickResult {
    const { metrics, clock } = this.deps;
    this.status.reconciling = undefined;
    const seconds = (performance.now() - t0) / 1000;
    this.status.ready = true;
    metrics.reconciles.inc({ result: outcome, trigger: result.trigger.split("+")[0] ?? "schedule" });
    if (outcome !== "skipped" && outcome !== "unchanged") {
      this.status.reconciles++;
      metrics.reconcileDuration.observe({ result: outcome }, seconds);
    }
    if (outcome === "ok") {
      this.status.lastSuccessAt = clock.now().toISOString();
      metrics.lastSuccess.set(clock.now().getTime() / 1000);
    }
    return result;
  }
}

/** The clusters this replica holds now, as one string (a change makes the next tick reconcile). */
function ownedKey(topology: Topology, gate: ClusterGate): string {
  return topology.clusters
    .map((c) => c.name)
    .filter((n) => gate.owns(n))
    .join(",");
}

/** The states of the clusters another replica reconciles (or none holds yet). */
function elsewhere(topology: Topology, only: ReadonlySet<string>, gate: ClusterGate): ClusterStatus[] {
  return topology.clusters
    .filter((c) => !only.has(c.name))
    .map((c) => {
      const owner = gate.ownerOf(c.name);
      return {
        name: c.name,
        state: "elsewhere" as const,
        planned: 0,
        applied: 0,
        failed: 0,
        ...(owner ? { owner } : {}),
      };
    });
}

/** Whether a run converged: every applied cluster converged, and the others had nothing to do. */
function converged(plan: Plan, changes: ChangeSet | undefined): boolean {
  return plan.clusters.every((cp) => {
    const cs = changes?.clusters.find((c) => c.cluster === cp.cluster);
    return cs ? cs.converged : !cp.actions.length;
  });
}
