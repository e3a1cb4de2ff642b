/**
 * The normalised topology: what `multicluster.yaml` says once the schema has
 * accepted it, defaults are filled in and anchor files are loaded. Every later
 * stage (render, plan, review) works on this type, never on raw YAML.
 */
import type { ExportMode } from "../extensions/export-modes.js";
import type { SplitApi } from "../extensions/split-apis.js";

/** A position in the topology file (1-based line and column). */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** A trust anchor as the topology names it, with its PEM text loaded. */
export interface TrustAnchor {
  name: string;
  /** PEM text of one or more certificates (file contents, or inline `pem`). */
  pem: string;
  /** The file it came from, resolved to an absolute path, when it came from a file. */
  file?: string;
  /** Fingerprints (SHA-256, hex) of the certificates in `pem`, in order. */
  fingerprints: string[];
  /** `current`: issuers chain to it now; `next`: the anchor a staged rotation moves the issuers to. */
  role: AnchorRole;
}

/** An anchor's part in a staged rotation (`spec.trustAnchors[].role`). */
export type AnchorRole = "current" | "next";

/** How a link's credentials are issued in the target cluster. */
export type CredentialsMode = "token-request" | "service-account-token";

/** Who runs the mirror controller for a link. */
export type ControllerMode = "managed" | "external";

/** How a service is exported; the rows of src/extensions/export-modes.ts. */
export type { ExportMode } from "../extensions/export-modes.js";

/** Which API a split is written with (rows of src/extensions/split-apis.ts); `undefined` means: what the cluster serves. */
export type { SplitApi } from "../extensions/split-apis.js";

/** One cluster of the mesh. */
export interface Cluster {
  name: string;
  /** kubeconfig context used to reach it (default: the cluster's name). */
  context: string;
  /** Address other clusters' mirror controllers use; undefined: the context's server. */
  apiServer?: string;
  gateway?: { addresses?: string[]; port?: number };
  linkerdNamespace: string;
  multiclusterNamespace: string;
  clusterDomain: string;
}

/** `from` mirrors services exported by `to`. */
export interface Link {
  from: string;
  to: string;
  controller: ControllerMode;
  /** Image of a managed controller; undefined: linkerd-config's controller image at the cluster's Linkerd version. */
  controllerImage?: string;
  /**
   * `serviceAccount`: a remote-access account in `to` that someone else made (Linkerd's `install` or
   * `allow`); crosslink issues tokens for it and renders nothing in `to`. Undefined: crosslink's own
   * per-source account.
   */
  credentials: { mode: CredentialsMode; ttlSeconds: number; serviceAccount?: string };
  excludedLabels: string[];
  excludedAnnotations: string[];
}

/** Services exported from one namespace of one cluster. */
export interface Export {
  cluster: string;
  namespace: string;
  services: string[];
  mode: ExportMode;
}

/** One backend of a split; `cluster` set means a remote (mirrored) backend. */
export interface SplitBackend {
  service: string;
  cluster?: string;
  weight: number;
}

/** A weighted traffic split of one Service in one cluster. */
export interface Split {
  cluster: string;
  namespace: string;
  service: string;
  api?: SplitApi;
  backends: SplitBackend[];
}

/** The whole normalised topology. */
export interface Topology {
  apiVersion: "crosslink.dev/v1alpha1";
  kind: "Topology";
  name: string;
  /** Whether crosslink writes the trust bundle into clusters (`spec.manageTrust`, default false). */
  manageTrust: boolean;
  trustAnchors: TrustAnchor[];
  clusters: Cluster[];
  links: Link[];
  exports: Export[];
  splits: Split[];
  /** Where each JSON pointer of the source document sits, for located messages of later stages. */
  positions: (pointer: string) => SourcePos | undefined;
}
