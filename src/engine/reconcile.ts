/**
 * The pipeline as a short list of calls: observe → render → plan (→ apply).
 * Commands and the daemon call these; each stage stays in its own module.
 */
import type { ClusterClient } from "../kube/port.js";
import type { Topology } from "../topology/types.js";
import { applyPlan, type ApplyOptions, type ChangeSet } from "./apply.js";
import type { ClusterObservation, ClusterFacts } from "./facts.js";
import { observeAll } from "./observe.js";
import { plan as makePlan, type PlanOptions } from "./plan/plan.js";
import type { Plan } from "./plan/types.js";
import { render } from "./render/render.js";
import type { DesiredCluster } from "./render/types.js";

/** Options of a planning run: the plan's (field manager, prune guard) and the clock. */
export interface PlanRunOptions extends PlanOptions {
  now: () => Date;
}

/** A plan with what it was computed from. */
export interface PlanRun {
  plan: Plan;
  observations: ClusterObservation[];
  desired: Map<string, DesiredCluster>;
}

/** Observes every cluster, renders the desired state and plans the changes. */
export async function planTopology(topology: Topology, clients: ReadonlyMap<string, ClusterClient>, opts: PlanRunOptions): Promise<PlanRun> {
  const observations = await observeAll(topology, clients);
  const facts = new Map<string, ClusterFacts>();
  for (const o of observations) if (o.ok) facts.set(o.cluster, o.facts);
  const desired = render({ topology, facts, now: opts.now() });
  const { fieldManager, allowMassPrune, allowedBy, previous } = opts;
  const plan = makePlan(topology, observations, desired, { fieldManager, allowMassPrune, ...(allowedBy ? { allowedBy } : {}), ...(previous ? { previous } : {}) });
  return { plan, observations, desired };
}

/** Plans and applies in one go. */
export async function reconcile(
  topology: Topology,
  clients: ReadonlyMap<string, ClusterClient>,
  opts: PlanRunOptions & Omit<ApplyOptions, "now" | "fieldManager">,
): Promise<PlanRun & { changes: ChangeSet }> {
  const run = await planTopology(topology, clients, opts);
  const changes = await applyPlan(run.plan, clients, { ...opts, now: opts.now, fieldManager: opts.fieldManager });
  return { ...run, changes };
}
