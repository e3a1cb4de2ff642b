/** Counting a plan's actions for summaries, shared by every renderer. */
import { describeRef } from "../kube/object.js";
import { actionRef, type Action, type ClusterPlan, type Plan } from "../engine/plan/actions.js";

/** Counts of a plan's actions. */
export interface PlanCounts {
  create: number;
  update: number;
  replace: number;
  delete: number;
  credentials: number;
  unchanged: number;
  errors: number;
  warnings: number;
  unreachable: number;
}

/** Counts the actions, findings and unreachable clusters of one cluster plan or of all of them. */
export function countPlan(clusters: readonly ClusterPlan[]): PlanCounts {
  const c: PlanCounts = {
    create: 0,
    update: 0,
    replace: 0,
    delete: 0,
    credentials: 0,
    unchanged: 0,
    errors: 0,
    warnings: 0,
    unreachable: 0,
  };
  for (const cp of clusters) {
    if (cp.error) c.unreachable++;
    c.unchanged += cp.unchanged;
    for (const a of cp.actions) c[a.type]++;
    for (const f of cp.findings) {
      if (f.severity === "error") c.errors++;
      else if (f.severity === "warning") c.warnings++;
    }
  }
  return c;
}

/** `3 to create, 1 to update, …` with zero counts left out; "no changes" when empty. */
export function describeCounts(c: PlanCounts): string {
  const parts = [
    c.create && `${c.create} to create`,
    c.update && `${c.update} to update`,
    c.replace && `${c.replace} to replace`,
    c.delete && `${c.delete} to delete`,
    c.credentials && `${c.credentials} credential${c.credentials > 1 ? "s" : ""} to issue`,
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "no changes";
}

/** The symbol of an action: `+` create, `~` update, `-/+` replace, `-` delete, `*` credentials. */
export function actionSymbol(a: Action): string {
  return { create: "+", update: "~", replace: "-/+", delete: "-", credentials: "*" }[a.type];
}

/** `Kind namespace/name` of an action, with the link for credentials. */
export function actionTitle(a: Action): string {
  if (a.type === "credentials") {
    return `credentials ${a.issue.from}→${a.issue.to} (${a.issue.op}; Secrets ${a.issue.secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).join(", ")})`;
  }
  return describeRef(actionRef(a));
}

/** Whether the plan is empty: no actions in any cluster. */
export function inSync(plan: Plan): boolean {
  return plan.clusters.every((c) => c.actions.length === 0);
}
