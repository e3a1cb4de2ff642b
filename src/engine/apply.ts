/**
 * apply (I/O): executes a Plan and nothing else. Server-side apply with field
 * manager `crosslink`; actions run in waves by the kind table's rank (deletes
 * in reverse), every cluster in parallel inside a wave, so a target's
 * ServiceAccount exists before a source asks it for a token. A cluster that
 * stops answering stops only its own remaining actions.
 */
import { KubeError } from "../kube/errors.js";
import { refOf, type KubeObject } from "../kube/object.js";
import type { ClusterClient } from "../kube/port.js";
import { errorMessage, mapLimit } from "../util/concurrency.js";
import { credentialsKubeconfig } from "./render/credentials.js";
import { b64 } from "./render/meta.js";
import { actionRank, type Action, type ClusterPlan, type CredentialsAction, type Plan } from "./plan/types.js";

/** Options of apply. */
export interface ApplyOptions {
  dryRun: boolean;
  fieldManager: string;
  /** Writes in flight per cluster. */
  concurrency: number;
  now: () => Date;
  /** How long to wait for a service-account-token Secret to get its token. */
  tokenWaitMs: number;
}

/** What happened to one action. */
export interface ActionResult {
  action: Action;
  status: "done" | "failed" | "skipped";
  error?: string;
}

/** What apply did in one cluster. */
export interface ClusterChangeSet {
  cluster: string;
  results: ActionResult[];
  /** Why the cluster was not (fully) applied: unreachable, blocked, or stopped answering. */
  error?: string;
  /** True when every action succeeded and the cluster had no error. */
  converged: boolean;
}

/** The outcome of applying a plan. */
export interface ChangeSet {
  dryRun: boolean;
  clusters: ClusterChangeSet[];
}

/** Annotation crosslink sets on a managed controller's pod template to roll it after credentials change. */
export const ROTATED_AT = "crosslink.dev/credentials-rotated-at";

/** Applies a plan through the given clients. */
export async function applyPlan(plan: Plan, clients: ReadonlyMap<string, ClusterClient>, opts: ApplyOptions): Promise<ChangeSet> {
  const state = new Map<string, { plan: ClusterPlan; results: ActionResult[]; error?: string }>();
  for (const cp of plan.clusters) {
    const s: { plan: ClusterPlan; results: ActionResult[]; error?: string } = { plan: cp, results: [] };
    if (cp.error) s.error = `not observed: ${cp.error}`;
    else if (cp.blocked) s.error = `blocked: ${cp.blocked}`;
    else if (!clients.get(cp.cluster)) s.error = "no client";
    state.set(cp.cluster, s);
  }
  for (const wave of waves(plan)) {
    await Promise.all(
      [...state.values()].map(async (s) => {
        const actions = s.plan.actions.filter((a) => waveOf(a) === wave);
        if (!actions.length) return;
        if (s.error) {
          for (const action of actions) s.results.push({ action, status: "skipped", error: s.error });
          return;
        }
        const client = clients.get(s.plan.cluster)!;
        const results = await mapLimit(actions, opts.concurrency, async (action): Promise<ActionResult> => {
          if (s.error) return { action, status: "skipped", error: s.error };
          try {
            await execute(action, client, clients, opts);
            return { action, status: "done" };
          } catch (err) {
            if (err instanceof KubeError && err.cluster === s.plan.cluster && (err.code === "KUBE_UNREACHABLE" || err.code === "KUBE_TIMEOUT")) {
              s.error = `stopped answering: ${err.message}`;
            }
            return { action, status: "failed", error: errorMessage(err) };
          }
        });
        s.results.push(...results);
      }),
    );
  }
  return {
    dryRun: opts.dryRun,
    clusters: [...state.values()].map((s) => {
      const cs: ClusterChangeSet = {
        cluster: s.plan.cluster,
        results: s.results,
        converged: !s.error && s.results.every((r) => r.status === "done"),
      };
      if (s.error) cs.error = s.error;
      return cs;
    }),
  };
}

/** Waves: apply ranks ascending, then delete ranks descending (as negative numbers after all applies). */
function waves(plan: Plan): number[] {
  const set = new Set<number>();
  for (const c of plan.clusters) for (const a of c.actions) set.add(waveOf(a));
  return [...set].sort((a, b) => a - b);
}

function waveOf(a: Action): number {
  const r = actionRank(a);
  return a.type === "delete" ? 1000 - r : r;
}

async function execute(action: Action, client: ClusterClient, clients: ReadonlyMap<string, ClusterClient>, opts: ApplyOptions): Promise<void> {
  const w = { dryRun: opts.dryRun, fieldManager: opts.fieldManager };
  switch (action.type) {
    case "create":
      await client.apply(action.object, w);
      return;
    case "update":
      await client.apply(action.object, { ...w, force: action.force });
      return;
    case "replace":
      await client.delete(action.ref, w);
      if (!opts.dryRun) await client.apply(action.object, w);
      return;
    case "delete":
      await client.delete(action.ref, w);
      return;
    case "credentials":
      await issueCredentials(action, client, clients, opts);
      return;
  }
}

async function issueCredentials(action: CredentialsAction, client: ClusterClient, clients: ReadonlyMap<string, ClusterClient>, opts: ApplyOptions): Promise<void> {
  const { issue } = action;
  const w = { dryRun: opts.dryRun, fieldManager: opts.fieldManager };
  const target = clients.get(issue.to);
  if (!target) throw new KubeError("KUBE_UNREACHABLE", `link ${issue.from}→${issue.to}: no client for ${issue.to}`, issue.to);
  const token = opts.dryRun ? "dry-run" : await obtainToken(action, target, opts);
  const kubeconfig = credentialsKubeconfig(issue.kubeconfig, token);
  const secrets: KubeObject[] = issue.secrets.map((s) => ({ ...s, data: { kubeconfig: b64(kubeconfig) } }));
  const [mc, ctl] = secrets as [KubeObject, KubeObject];
  await client.apply(mc, w);
  // The destination controller handles only Add and Delete of this Secret: recreate it to rotate.
  if (issue.op === "rotate") await client.delete(refOf(ctl), w);
  await client.apply(ctl, w);
  if (issue.restart) {
    const patch = { spec: { template: { metadata: { annotations: { [ROTATED_AT]: opts.now().toISOString() } } } } };
    await client.patch(issue.restart, patch, { dryRun: opts.dryRun, fieldManager: `${opts.fieldManager}-rollout` });
  }
}

async function obtainToken(action: CredentialsAction, target: ClusterClient, opts: ApplyOptions): Promise<string> {
  const { issue } = action;
  if (issue.mode === "token-request") {
    return (await target.createToken(issue.target.namespace, issue.target.serviceAccount, issue.ttlSeconds)).token;
  }
  const ref = { apiVersion: "v1", kind: "Secret", namespace: issue.target.namespace, name: issue.target.tokenSecret ?? "" };
  const deadline = Date.now() + opts.tokenWaitMs;
  for (;;) {
    const secret = await target.get(ref);
    const token = (secret?.data as Record<string, string> | undefined)?.token;
    if (token) return Buffer.from(token, "base64").toString("utf8");
    if (Date.now() > deadline) {
      throw new KubeError("KUBE_TIMEOUT", `Secret ${ref.namespace}/${ref.name} in ${issue.to}: no token after ${opts.tokenWaitMs}ms`, issue.to);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
