/** The daemon's status document: what `/status` serves and `crosslink status` prints. */
import type { Diagnostic } from "../diagnostics.js";
import type { PlanCounts } from "../report/summary.js";
import type { BranchMove } from "./rewind.js";
import type { ShardStatus } from "./shards.js";
import type { WatchState } from "../kube/watch-cache.js";

/** One cluster's state as of the last reconcile. */
export interface ClusterStatus {
  name: string;
  /** `elsewhere`: with shards, another replica reconciles it (or none holds its Lease yet). */
  state: "ok" | "unreachable" | "backoff" | "blocked" | "pending" | "elsewhere";
  /** With shards: the replica the cluster is assigned to, for a cluster this replica does not reconcile. */
  owner?: string;
  /** Actions planned in the last reconcile. */
  planned: number;
  /** Actions applied (done) in the last reconcile. */
  applied: number;
  failed: number;
  error?: string;
  /** ISO time until which the cluster is not observed again. */
  backoffUntil?: string;
  /** Consecutive failed observations (while backing off). */
  failures?: number;
  lastObservedAt?: string;
}

/** One watch of the daemon's cache, as /status shows it. */
export type WatchStatus = WatchState;

/** An anchor or issuer close to its expiry. */
export interface CertificateWarning {
  cluster: string;
  kind: "anchor" | "issuer";
  name: string;
  anchor: string;
  notAfter: string;
  /** Whole days left (negative: expired). */
  days: number;
}

/** The phases of one reconcile. */
export type ReconcilePhase = "sync" | "validate" | "observe" | "plan" | "apply";

/** The reconcile running now: its phase, and the clusters it is still waiting on. */
export interface ReconcileInProgress {
  trigger: string;
  /** ISO time the reconcile started. */
  since: string;
  phase: ReconcilePhase;
  phaseSince: string;
  /**
   * Clusters whose observation or apply has started and not ended, or that are
   * observed and waiting (`wait`) for the clusters in `waitingOn` (their link
   * targets) to be observed, with the time it started.
   */
  clusters: { name: string; phase: "observe" | "wait" | "apply"; since: string; waitingOn?: string[] }[];
}

/** A commit that was not put in force: invalid topology, a refused signature or a refused rewind. */
export interface RejectedRevision {
  revision: string;
  reason: "invalid" | "signature" | "unreadable" | "rewind";
  message: string;
  diagnostics: Diagnostic[];
  /** ISO time it was first seen. */
  since: string;
}

/** The whole status. */
export interface DaemonStatus {
  version: number;
  source: string;
  role: "leader" | "follower" | "single" | "shard";
  /** With `--shards`: the live members, and the clusters assigned to and held by this replica. */
  shards?: ShardStatus;
  identity: string;
  suspended: boolean;
  drift: "heal" | "report";
  ready: boolean;
  revision: {
    /** The commit the source last reported (head of the followed ref). */
    head?: string;
    /** The last valid revision: the one in force. */
    lastGood?: string;
    /** The last revision whose plan was applied with every cluster converged. */
    applied?: string;
    appliedAt?: string;
    message?: string;
  };
  rejected?: RejectedRevision;
  /** The last move of the followed branch that was not a fast-forward (rewind, diverged or unknown history). */
  lastMove?: BranchMove;
  fetch: { lastAt?: string; ok?: boolean; error?: string; code?: string };
  lastReconcile?: {
    at: string;
    trigger: string;
    durationMs: number;
    wrote: boolean;
    plan: PlanCounts;
    result: "ok" | "partial" | "error" | "skipped";
  };
  lastSuccessAt?: string;
  /**
   * With watches: the ticks skipped since the last reconcile because nothing changed (same revision, no watch
   * change, the last reconcile clean), and the time of the first; `lastReconcile.at` stays the last that ran.
   */
  unchanged?: { since: string; ticks: number };
  /** With watches: every tick skipped as unchanged since start (absent until the first). */
  unchangedTicks?: number;
  /** The reconcile in progress, if any. */
  reconciling?: ReconcileInProgress;
  clusters: ClusterStatus[];
  /** With `--observe watch` (the default): every watch of the cache, its state, restarts and last error. */
  watches?: WatchStatus[];
  /** Anchors and issuers that expire within 60 days (Linkerd's warning threshold), from the last observation. */
  certificateWarnings?: CertificateWarning[];
  /** The most recent errors, newest first (bounded). */
  lastErrors: { at: string; message: string; cluster?: string }[];
  reconciles: number;
  /** false when texts that name servers or quote errors were left out (no `--status-detail`). */
  detail?: boolean;
}

/** The status format version. */
export const STATUS_VERSION = 1;

/** A fresh status. */
export function initialStatus(
  source: string,
  identity: string,
  drift: "heal" | "report",
  role: DaemonStatus["role"],
): DaemonStatus {
  return {
    version: STATUS_VERSION,
    source,
    role,
    identity,
    suspended: false,
    drift,
    ready: false,
    revision: {},
    fetch: {},
    clusters: [],
    lastErrors: [],
    reconciles: 0,
  };
}

/** Adds an error to the bounded list, newest first. */
export function pushError(status: DaemonStatus, at: Date, message: string, cluster?: string): void {
  status.lastErrors.unshift({ at: at.toISOString(), message, ...(cluster ? { cluster } : {}) });
  status.lastErrors.length = Math.min(status.lastErrors.length, 20);
}

/** What `/status` shows without `--status-detail` in place of the source URL. */
export const HIDDEN_SOURCE = "(hidden; --status-detail shows it)";

/**
 * The status without what names servers or quotes errors (pure): no source
 * URL, no error or rejection texts, no diagnostics or commit message; phase,
 * revisions, plan counts and each cluster's state and counts stay.
 */
export function redactStatus(s: DaemonStatus): DaemonStatus {
  const { message: _message, ...revision } = s.revision;
  const { error: _fetchError, ...fetch } = s.fetch;
  return {
    ...s,
    source: HIDDEN_SOURCE,
    detail: false,
    revision,
    fetch,
    ...(s.rejected ? { rejected: { ...s.rejected, message: "", diagnostics: [] } } : {}),
    clusters: s.clusters.map(({ error: _error, ...c }) => c),
    ...(s.watches ? { watches: s.watches.map(({ lastError: _lastError, ...w }) => w) } : {}),
    lastErrors: s.lastErrors.map(({ at, cluster }) => ({ at, message: "", ...(cluster ? { cluster } : {}) })),
  };
}
