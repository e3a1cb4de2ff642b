/**
 * Per-cluster backoff: a cluster that could not be observed is skipped until
 * its backoff expires (exponential, capped), so one unreachable cluster costs
 * nothing per tick while the others keep reconciling.
 */

/** Backoff bounds. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** One cluster's backoff state. */
export interface BackoffState {
  failures: number;
  /** Not observed again before this time (ms since the epoch). */
  until: number;
  lastError: string;
}

/** Backoff bookkeeping for all clusters. */
export class ClusterBackoff {
  private readonly state = new Map<string, BackoffState>();

  constructor(private readonly policy: BackoffPolicy) {}

  /** Whether the cluster is backed off at `now`. */
  active(cluster: string, now: number): boolean {
    const s = this.state.get(cluster);
    return s !== undefined && s.until > now;
  }

  /** Records a failed observation; returns the new state. */
  fail(cluster: string, error: string, now: number): BackoffState {
    const failures = (this.state.get(cluster)?.failures ?? 0) + 1;
    const delay = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** (failures - 1));
    const s = { failures, until: now + delay, lastError: error };
    this.state.set(cluster, s);
    return s;
  }

  /** Records a successful observation. */
  succeed(cluster: string): void {
    this.state.delete(cluster);
  }

  /** The state of a cluster, if it has failed. */
  get(cluster: string): BackoffState | undefined {
    return this.state.get(cluster);
  }
}
