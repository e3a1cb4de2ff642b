/**
 * The LIST scopes a client was refused (403) and was asked to remember
 * (`ListOptions.rememberForbidden`): such a LIST is refused again without a
 * request for REFUSAL_MEMORY_MS, then asked again, so an RBAC change is seen
 * by a client that lives for long (the daemon keeps a cluster's client across
 * commits).
 */
import { KubeError } from "./errors.js";

/** How long a refused LIST is not asked again (the watch cache reads such a name by GET meanwhile). */
export const REFUSAL_MEMORY_MS = 10 * 60_000;

/**
 * One client's memory of refused LIST scopes (by a key of kind, namespace and selectors), each for
 * REFUSAL_MEMORY_MS.
 */
export class ForbiddenLists {
  /** When each scope was refused, by `now()`. */
  private readonly refused = new Map<string, number>();

  constructor(
    private readonly cluster: () => string,
    /** A monotonic clock, ms. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Runs `list` unless `scope` was refused before and `remember` is set (then fails with KUBE_FORBIDDEN unsent);
   * a KUBE_FORBIDDEN from `list` is remembered when `remember` is set.
   */
  async run<T>(scope: string, remember: boolean | undefined, what: string, list: () => Promise<T>): Promise<T> {
    if (!remember) return list();
    const at = this.refused.get(scope);
    if (at !== undefined && this.now() - at < REFUSAL_MEMORY_MS)
      throw new KubeError("KUBE_FORBIDDEN", `${what}: refused earlier, not asked again`, this.cluster(), 403);
    try {
      return await list();
    } catch (err) {
      if (err instanceof KubeError && err.code === "KUBE_FORBIDDEN") this.refused.set(scope, this.now());
      throw err;
    }
  }
}
