/**
 * What observe learns about one cluster: the facts render needs and the live
 * objects plan compares with. Plain data, so render and plan stay pure.
 */
import type { KubeObject } from "../kube/object.js";
import type { KindsRecordFacts } from "./kinds-record.js";

/** The Linkerd control plane's configuration, from `linkerd-config`. */
export interface LinkerdConfigFacts {
  trustDomain: string;
  clusterDomain: string;
  /** identityTrustAnchorsPEM. */
  anchorsPem: string;
  version?: string;
  /** `controllerImage` (repository) and `controllerImageVersion` (tag override), when set. */
  controllerImage?: string;
  controllerImageVersion?: string;
  /** `identity.issuer.scheme`: `linkerd.io/tls` (default) or `kubernetes.io/tls` (an external CA such as cert-manager). */
  issuerScheme: IssuerScheme;
  /** The ConfigMap as read, for trust management. */
  configMap: KubeObject;
}

/** How Linkerd's identity controller reads its issuer Secret. */
export type IssuerScheme = "linkerd.io/tls" | "kubernetes.io/tls";

/** The multicluster gateway, from the `linkerd-gateway` Service. */
export interface GatewayFacts {
  addresses: string[];
  port?: number;
  probePort?: number;
  identity?: string;
  probePath?: string;
  /** Already a Go duration (`3s`). */
  probePeriod?: string;
}

/**
 * The served versions (newest preferred first) of each API group whose
 * version is discovered (kube/kinds.ts DISCOVERED_GROUPS: the Link's and every
 * split API's), by group; a group absent or `[]` is not served.
 */
export type ServedApis = Readonly<Record<string, readonly string[]>>;

/** Everything observed in one reachable cluster. */
export interface ClusterFacts {
  cluster: string;
  /** API server URL and CA, from the kubeconfig (for credentials other clusters use). */
  server: string;
  caPem?: string;
  /**
   * The API server's clock minus this machine's, ms, from the `Date` header of its answers while observed (to
   * about a second); absent when none carried one. Tokens this server issues expire by its clock.
   */
  clockOffsetMs?: number;
  linkerd?: LinkerdConfigFacts;
  /** `linkerd-identity-trust-roots` ca-bundle.crt, and the ConfigMap. */
  trustRoots?: { pem: string; configMap: KubeObject };
  /** The issuer certificate (never the key). */
  issuerCertPem?: string;
  gateway?: GatewayFacts;
  served: ServedApis;
  /** Objects of managed kinds carrying this topology's owner labels. */
  owned: KubeObject[];
  /** Services by `namespace/name`: those in namespaces the topology exports or splits in, plus every export-labelled one. */
  services: Map<string, KubeObject>;
  /** Services the service mirror created (`mirror.linkerd.io/mirrored-service=true`). */
  mirrors: KubeObject[];
  /** The shared mirror-controller ClusterRole (`linkerd-multicluster-controller-access-local-resources`), whoever owns it. */
  controllerSharedRole?: KubeObject;
  /** Names of every Link in the cluster, whoever owns it. */
  linkNames: string[];
  /**
   * Objects crosslink renders under the same names, made by someone else (no owner labels): the
   * Links and credential Secrets of this cluster's links as Linkerd's CLI made them. Plan adopts
   * them (ownership changes only) instead of creating them; see docs/decisions.md §12.
   */
  adoptable: KubeObject[];
  /**
   * The kinds record as observe read it (src/engine/kinds-record.ts); absent when the facts were not
   * read by observe (recorded facts), and plan then neither needs nor writes a record.
   */
  kindsRecord?: KindsRecordFacts;
}

/** The outcome of observing one cluster. */
export type ClusterObservation =
  { cluster: string; ok: true; facts: ClusterFacts } | { cluster: string; ok: false; error: string };

/** Key of a namespaced object in the `services` map. */
export function nsName(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
