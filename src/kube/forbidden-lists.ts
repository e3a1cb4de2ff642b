/**
 * The LIST scopes a client was refused (403) and was asked to remember
 * (`ListOptions.rememberForbidden`): such a LIST is refused again without a
 * request for as long as the client lives. A client built anew (a new process,
 * a rotated kubeconfig, a cluster re-pointed; the daemon keeps a cluster's
 * client across commits otherwise) asks again, so an RBAC change is seen then.
 */
import { KubeError } from "./errors.js";

/** One client's memory of refused LIST scopes (by a key of kind, namespace and selectors). */
export class ForbiddenLists {
  private readonly refused = new Set<string>();

  constructor(private readonly cluster: () => string) {}

  /**
   * Runs `list` unless `scope` was refused before and `remember` is set (then fails with KUBE_FORBIDDEN unsent);
   * a KUBE_FORBIDDEN from `list` is remembered when `remember` is set.
   */
  async run<T>(scope: string, remember: boolean | undefined, what: string, list: () => Promise<T>): Promise<T> {
    if (!remember) return list();
    if (this.refused.has(scope))
      throw new KubeError("KUBE_FORBIDDEN", `${what}: refused earlier, not asked again`, this.cluster(), 403);
    try {
      return await list();
    } catch (err) {
      if (err instanceof KubeError && err.code === "KUBE_FORBIDDEN") this.refused.add(scope);
      throw err;
    }
  }
}
