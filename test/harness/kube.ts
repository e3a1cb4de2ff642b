// Small helpers of the harness: a KubeConfig per context (and its crosslink Kubeconfig), the field manager the
// seed writes with, and a bounded poll. Requests go through crosslink's own
// cluster client (src/kube/http-client.ts).
import { KubeConfig } from "@kubernetes/client-node";
import { Kubeconfig } from "../../src/kube/kubeconfig.js";

/** Field manager the harness applies with; crosslink itself uses "crosslink". */
export const HARNESS_FIELD_MANAGER = "linkerd-harness";

/** Loads `kubeconfigPath` and selects `context` (default: its current context). */
export function kubeConfigFor(kubeconfigPath: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  if (context) {
    if (!kc.getContextObject(context)) throw new Error(`context ${context} not found in ${kubeconfigPath}`);
    kc.setCurrentContext(context);
  }
  return kc;
}

/** crosslink's Kubeconfig of the same entries and current context as client-node's `kc` (what src/ takes). */
export function toKubeconfig(kc: KubeConfig): Kubeconfig {
  const out = new Kubeconfig();
  out.loadFromOptions({
    clusters: kc.getClusters(),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return out;
}

/** Polls `fn` every `intervalMs` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
