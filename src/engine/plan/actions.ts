/**
 * The Plan: a closed union of actions per cluster, plus findings. Apply
 * executes exactly these; renderers display them. `reason` is for display only.
 */
import { KINDS } from "../../kube/kinds.js";
import { groupOf, type KubeObject, type ObjectRef } from "../../kube/object.js";
import type { CredentialsIssue, Finding } from "../render/desired.js";
import type { FieldPath } from "../../kube/field-path.js";
import { isKindsRecordRef } from "../kinds-record.js";

/** One changed field; `sensitive` values are never shown. */
export interface FieldChange {
  path: FieldPath;
  before?: unknown;
  after?: unknown;
  sensitive: boolean;
}

/** Create an object crosslink owns. */
export interface CreateAction {
  type: "create";
  object: KubeObject;
  changes: FieldChange[];
  reason: string;
}

/** Update an object (owned, or a partial on someone else's object). */
export interface UpdateAction {
  type: "update";
  object: KubeObject;
  ref: ObjectRef;
  changes: FieldChange[];
  /** Take over fields other managers own. */
  force: boolean;
  reason: string;
  /**
   * Set when crosslink takes over an object (or an export label) someone else made: the field
   * managers that held it. The update adds only ownership (labels, field manager) unless `changes` say more.
   */
  adoptedFrom?: string[];
}

/** Delete and create again, because an immutable field changed. */
export interface ReplaceAction {
  type: "replace";
  object: KubeObject;
  ref: ObjectRef;
  changes: FieldChange[];
  reason: string;
}

/** Delete an object crosslink owns (or a mirror Service Linkerd left behind after an unlink). */
export interface DeleteAction {
  type: "delete";
  ref: ObjectRef;
  reason: string;
}

/** Issue (or renew) a link's credentials: a token from the target, written into both Secrets. */
export interface CredentialsAction {
  type: "credentials";
  issue: CredentialsIssue;
  reason: string;
}

/** Every action crosslink can take. */
export type Action = CreateAction | UpdateAction | ReplaceAction | DeleteAction | CredentialsAction;

/** The plan of one cluster. */
export interface ClusterPlan {
  cluster: string;
  /** Set when the cluster could not be observed: no actions were planned for it. */
  error?: string;
  actions: Action[];
  findings: Finding[];
  /** Set when apply must not run this cluster's actions: the prune guard stopped them (XL641, XL642). */
  blocked?: string;
  /** Objects that already match. */
  unchanged: number;
  /** Objects of managed kinds crosslink owns in the cluster now. */
  ownedCount: number;
}

/** The whole plan, deterministic for the same input. */
export interface Plan {
  topology: string;
  clusters: ClusterPlan[];
}

/** The reference an action is about. */
export function actionRef(a: Action): ObjectRef {
  switch (a.type) {
    case "create":
      return {
        apiVersion: a.object.apiVersion,
        kind: a.object.kind,
        name: a.object.metadata.name,
        ...(a.object.metadata.namespace ? { namespace: a.object.metadata.namespace } : {}),
      };
    case "update":
    case "replace":
    case "delete":
      return a.ref;
    case "credentials":
      return {
        apiVersion: "v1",
        kind: "Secret",
        namespace: a.issue.secrets[0]?.metadata.namespace ?? "",
        name: a.issue.secrets[0]?.metadata.name ?? "",
      };
  }
}

/** An action's rank in the kind table (credentials rank as Secrets; the kinds record before everything). */
export function actionRank(a: Action): number {
  const ref = actionRef(a);
  // The kinds record goes first: no object of a kind it does not list may be written before it.
  if (isKindsRecordRef(ref)) return -1;
  const group = groupOf(ref.apiVersion);
  return KINDS.find((k) => k.group === group && k.kind === ref.kind)?.rank ?? 100;
}

/** Whether a plan has any action. */
export function hasChanges(plan: Plan): boolean {
  return plan.clusters.some((c) => c.actions.length > 0);
}

/** Whether a plan has an error: an unreachable cluster or an error finding. */
export function hasErrors(plan: Plan): boolean {
  return plan.clusters.some((c) => c.error || c.findings.some((f) => f.severity === "error"));
}
