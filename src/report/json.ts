/** The plan and the change set as JSON (versioned; secrets never included). */
import type { ChangeSet } from "../engine/apply.js";
import { actionRef, type Action, type Plan } from "../engine/plan/actions.js";
import { countPlan } from "./summary.js";
import { changeJson } from "./values.js";

/** Version of the JSON documents crosslink prints. */
export const FORMAT_VERSION = 1;

function actionJson(a: Action): Record<string, unknown> {
  const ref = actionRef(a);
  const out: Record<string, unknown> = {
    action: a.type,
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    name: ref.name,
    reason: a.reason,
  };
  if (ref.namespace) out.namespace = ref.namespace;
  if (a.type === "update" || a.type === "replace" || a.type === "create") out.changes = a.changes.map(changeJson);
  if (a.type === "update" && a.adoptedFrom) out.adoptedFrom = a.adoptedFrom;
  if (a.type === "credentials") {
    out.link = { from: a.issue.from, to: a.issue.to };
    out.op = a.issue.op;
    out.mode = a.issue.mode;
    out.secrets = a.issue.secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
  }
  return out;
}

/** The plan as a JSON-ready object. */
export function planJson(plan: Plan): Record<string, unknown> {
  return {
    formatVersion: FORMAT_VERSION,
    topology: plan.topology,
    summary: countPlan(plan.clusters),
    clusters: plan.clusters.map((c) => ({
      cluster: c.cluster,
      ...(c.error ? { error: c.error } : {}),
      ...(c.blocked ? { blocked: c.blocked } : {}),
      unchanged: c.unchanged,
      owned: c.ownedCount,
      findings: c.findings,
      actions: c.actions.map(actionJson),
    })),
  };
}

/** The change set as a JSON-ready object. */
export function changeSetJson(cs: ChangeSet): Record<string, unknown> {
  return {
    formatVersion: FORMAT_VERSION,
    dryRun: cs.dryRun,
    clusters: cs.clusters.map((c) => ({
      cluster: c.cluster,
      converged: c.converged,
      ...(c.error ? { error: c.error } : {}),
      results: c.results.map((r) => ({
        ...actionJson(r.action),
        status: r.status,
        ...(r.error ? { error: r.error } : {}),
      })),
    })),
  };
}
