/**
 * What `crosslink import` reads from one cluster: plain live objects, so the
 * conversion to a topology (build.ts) stays pure and testable without a server.
 */
import type { KubeObject } from "../kube/object.js";
import type { GatewayFacts, LinkerdConfigFacts } from "../engine/facts.js";

/** The live state of one kubeconfig context, as import needs it. */
export interface LiveCluster {
  /** The kubeconfig context it was read through. */
  context: string;
  /** The context's API server URL, and CA when the kubeconfig names one. */
  server: string;
  caPem?: string;
  linkerd?: LinkerdConfigFacts;
  /** `linkerd-identity-trust-roots` `ca-bundle.crt`. */
  trustRootsPem?: string;
  gateway?: GatewayFacts;
  /** Every Link (any namespace). */
  links: KubeObject[];
  /** Secrets of type `mirror.linkerd.io/remote-kubeconfig` (any namespace). */
  credentials: KubeObject[];
  /** Services carrying an export label (`mirror.linkerd.io/exported`, `mirror.linkerd.io/federated`). */
  exported: KubeObject[];
  /** Services the service mirror made (`mirror.linkerd.io/mirrored-service=true`). */
  mirrors: KubeObject[];
  /** Mirror-controller Deployments (`mirror.linkerd.io/cluster-name` label). */
  controllers: KubeObject[];
  /** HTTPRoutes (Gateway API, Linkerd policy) and SMI TrafficSplits. */
  routes: KubeObject[];
}
