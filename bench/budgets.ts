/**
 * The budgets of issue 14 ("Scale"), in one place for the benchmarks that
 * print figures beside them and for `npm run bench:scale`, which collects them.
 */
export const BUDGETS = {
  /** A no-op `diff`/`apply`: API requests per cluster, at most. */
  noopRequestsPerCluster: 12,
  /** crosslink against `kubectl apply --server-side` on the same work (no-op and first apply), at least. */
  speedupOverKubectl: 10,
  /** The daemon's steady-state tick: API requests, at most. */
  steadyTickRequests: 0,
  /** A hand edit or deletion of an owned object repaired from a watch event, in less than (ms). */
  repairLatencyMs: 1000,
  /** Daemon RSS after 1,000 ticks (10 clusters × 2,000 exports watched), less than. */
  daemonRssBytes: 150 * 2 ** 20,
  /** "Heap flat over the run": heap used after 1,000 ticks minus before, less than. */
  heapGrowthBytes: 5 * 2 ** 20,
  /** The planner at fleet size: clusters and exports, and plan wall time and peak RSS, less than. */
  planner: { clusters: 1000, exports: 100_000, ms: 5000, rssBytes: 2 ** 30 },
} as const;
