/** What render produces: the desired state of every cluster, plus findings. */
import type { EngineCode } from "../../codes.js";
import type { KubeObject, ObjectRef } from "../../kube/object.js";
import type { CredentialsMode } from "../../topology/types.js";
import type { ClusterFacts } from "../facts.js";
import type { Topology } from "../../topology/types.js";

/** Severity of a finding of render or plan. */
export type FindingSeverity = "error" | "warning" | "info";

/** Something the plan reports that is not an object change. */
export interface Finding {
  severity: FindingSeverity;
  /** A code of src/codes.ts ENGINE_CODES. */
  code: EngineCode;
  message: string;
  cluster?: string;
  hint?: string;
}

/** A partial object crosslink applies onto an object it does not own (export labels, trust bundle). */
export interface DesiredPatch {
  object: KubeObject;
  /** Take fields over from other field managers (trust bundle written by Linkerd's installer). */
  force: boolean;
  reason: string;
}

/** How a link's credentials must be (re)issued at apply time, because they need a fresh token. */
export interface CredentialsIssue {
  from: string;
  to: string;
  mode: CredentialsMode;
  ttlSeconds: number;
  /** Where the token comes from, in `to`. */
  target: { namespace: string; serviceAccount: string; tokenSecret?: string };
  /** What the kubeconfig holds besides the token. */
  kubeconfig: { server: string; caPem?: string; name: string; user: string };
  /** The two credential Secrets without their `data`; apply fills it. */
  secrets: KubeObject[];
  /** The managed controller Deployment to roll once the new credentials are written. */
  restart?: ObjectRef;
  op: "create" | "rotate";
  reason: string;
}

/** The desired state of one cluster. */
export interface DesiredCluster {
  cluster: string;
  /** Objects crosslink owns (owner labels set). */
  objects: KubeObject[];
  patches: DesiredPatch[];
  credentials: CredentialsIssue[];
  /** Keys of owned objects whose desired state could not be computed (keep them as they are). */
  keep: Set<string>;
  findings: Finding[];
}

/** Inputs of render: the topology, what observe saw, and the clock. */
export interface RenderInput {
  topology: Topology;
  /** Facts of the clusters that were observed; a cluster missing here was unreachable. */
  facts: ReadonlyMap<string, ClusterFacts>;
  now: Date;
  /** Issue new credentials for every link whatever their age (`apply --rotate-credentials`). */
  rotateCredentials?: boolean;
}
