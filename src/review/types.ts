/**
 * The review's data: a closed union of topology-level changes between two
 * revisions, safety findings with stable codes, and the graph the Mermaid
 * diagram draws. Computed by `changes.ts`/`safety.ts`, displayed by `render-*.ts`.
 */
import type { PRUNE_GUARD_CODES, ReviewCode } from "../codes.js";
import type { Diagnostic } from "../diagnostics.js";
import type { ExportMode } from "../topology/types.js";

/** A link's endpoints: `from` mirrors services exported by `to`. */
export interface LinkKey {
  from: string;
  to: string;
}

/** One exported service. */
export interface ExportKey {
  cluster: string;
  namespace: string;
  service: string;
}

/** A split by the Service it splits. */
export interface SplitKey {
  cluster: string;
  namespace: string;
  service: string;
}

/** A backend's weight before and after (undefined: not a backend at that revision). */
export interface WeightChange {
  /** `podinfo` for a local backend, `podinfo@east` for a remote one. */
  backend: string;
  service: string;
  cluster?: string;
  before?: number;
  after?: number;
  /** Share of the split's total weight, in percent, rounded to one decimal. */
  beforePercent?: number;
  afterPercent?: number;
}

/** One changed field of a cluster or link (never a secret: topologies hold none). */
export interface FieldDelta {
  field: string;
  before?: string;
  after?: string;
}

/** Every kind of topology-level change, each with what it implies. */
export type TopologyChange =
  | { kind: "topology-renamed"; before: string; after: string; implications: string[] }
  | { kind: "manage-trust-changed"; before: boolean; after: boolean; implications: string[] }
  | { kind: "cluster-added"; cluster: string; implications: string[] }
  | { kind: "cluster-removed"; cluster: string; implications: string[] }
  | { kind: "cluster-changed"; cluster: string; fields: FieldDelta[]; implications: string[] }
  | ({ kind: "link-added" } & LinkKey & { implications: string[] })
  | ({ kind: "link-removed" } & LinkKey & { implications: string[] })
  | ({ kind: "link-changed" } & LinkKey & { fields: FieldDelta[]; implications: string[] })
  | ({ kind: "export-added" } & ExportKey & { mode: ExportMode; implications: string[] })
  | ({ kind: "export-removed" } & ExportKey & { mode: ExportMode; implications: string[] })
  | ({ kind: "export-mode-changed" } & ExportKey & { before: ExportMode; after: ExportMode; implications: string[] })
  | ({ kind: "split-added" } & SplitKey & { weights: WeightChange[]; implications: string[] })
  | ({ kind: "split-removed" } & SplitKey & { weights: WeightChange[]; implications: string[] })
  | ({ kind: "split-changed" } & SplitKey & { weights: WeightChange[]; api?: FieldDelta; implications: string[] })
  | { kind: "trust-anchor-added"; name: string; fingerprint: string; subject?: string; implications: string[] }
  | { kind: "trust-anchor-removed"; name: string; fingerprint: string; subject?: string; implications: string[] };

/** The kinds of change, for counting and filtering. */
export type ChangeKind = TopologyChange["kind"];

/** Severity of a safety finding: errors fail the plan. */
export type FindingSeverity = "error" | "warning" | "info";

/** A safety finding: a stable code, a message naming the object first, and why it matters. */
export interface ReviewFinding {
  /** A code of src/codes.ts REVIEW_CODES, or one of the prune guard's (PRUNE_GUARD_CODES). */
  code: ReviewCode | (typeof PRUNE_GUARD_CODES)[number];
  severity: FindingSeverity;
  message: string;
  explanation: string;
  /** The cluster the finding is about, when there is one (renderers group by it). */
  cluster?: string;
}

/** Status of a node or edge of the review graph. */
export type GraphStatus = "kept" | "added" | "removed" | "changed";

/** The topology as a graph: clusters as nodes, links as edges, each with its status. */
export interface ReviewGraph {
  nodes: { cluster: string; status: GraphStatus }[];
  edges: { from: string; to: string; status: GraphStatus }[];
}

/** One revision as the review saw it. */
export interface RevisionInfo {
  rev: string;
  oid: string;
  /** The topology's name there, when it loaded. */
  topology?: string;
  /** Whether the topology loaded without errors there. */
  valid: boolean;
}

/** The whole review: what the renderers display and the exit code is decided from. */
export interface Review {
  file: string;
  base: RevisionInfo;
  head: RevisionInfo;
  changes: TopologyChange[];
  findings: ReviewFinding[];
  /** Validation diagnostics of the head revision. */
  diagnostics: Diagnostic[];
  graph: ReviewGraph;
  /** Whether the head commit carries `crosslink: allow-mass-prune`. */
  massPruneAllowed: boolean;
}
