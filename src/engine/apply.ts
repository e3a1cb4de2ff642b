/**
 * apply (I/O): executes a Plan and nothing else. Server-side apply with field
 * manager `crosslink`; each cluster runs its actions in waves by the kind
 * table's rank (deletes in reverse), on its own, so a slow or hung cluster
 * costs the others nothing. The one dependency across clusters is waited for
 * explicitly: credentials for a link `from → to` are issued once `to` has
 * finished its earlier waves (its ServiceAccount and RBAC exist). A cluster
 * that stops answering stops only its own remaining actions; an aborted
 * signal (lost Lease, shutdown, deadline) stops every cluster before its next
 * write, and the clients refuse writes the fence no longer allows.
 */
import { KubeError } from "../kube/errors.js";
import { refOf, type KubeObject } from "../kube/object.js";
import type { ClusterClient } from "../kube/port.js";
import { abortText, sleep } from "../util/abort.js";
import { errorMessage, mapLimit } from "../util/concurrency.js";
import { issuedSecrets } from "./render/credentials.js";
import { isKindsRecordRef } from "./kinds-record.js";
import { actionRank, type Action, type ClusterPlan, type CredentialsAction, type Plan } from "./plan/actions.js";

/** Options of apply. */
export interface ApplyOptions {
  dryRun: boolean;
  fieldManager: string;
  /** Writes in flight per cluster. */
  concurrency: number;
  now: () => Date;
  /** How long to wait for a service-account-token Secret to get its token. */
  tokenWaitMs: number;
  /** Stops every cluster before its next action when aborted (the clients abort requests in flight themselves). */
  signal?: AbortSignal;
  /** Called when a cluster starts and ends its apply. */
  onProgress?: (cluster: string, state: "start" | "done") => void;
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
  /** Why the cluster was not (fully) applied: unreachable, blocked, stopped answering or aborted. */
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

interface ClusterRun {
  results: ActionResult[];
  error?: string;
  /** The wave the cluster is in (Infinity once it has finished or stopped). */
  wave: number;
  waiters: { wave: number; resolve: () => void }[];
}

/** Applies a whole plan through each cluster's client (undefined: none). */
export async function applyPlan(
  plan: Plan,
  clientFor: (cluster: string) => ClusterClient | undefined,
  opts: ApplyOptions,
): Promise<ChangeSet> {
  const session = applySession(
    plan.clusters.map((cp) => cp.cluster),
    clientFor,
    opts,
  );
  return { dryRun: opts.dryRun, clusters: await Promise.all(plan.clusters.map((cp) => session.apply(cp))) };
}

/**
 * Applies cluster plans as they come (the reconcile plans each cluster once
 * the clusters it depends on are observed). Every cluster of the run is named
 * up front, so a credentials action can wait for its target's earlier waves;
 * each must then be either applied or skipped, or those waits last until the
 * target's apply deadline.
 */
export interface ApplySession {
  /** Applies one cluster's plan (once per cluster). */
  apply(cp: ClusterPlan): Promise<ClusterChangeSet>;
  /** Marks a cluster that will not be applied in this run, releasing whoever waits for it. */
  skip(cluster: string): void;
}

/** A session over the named clusters; `clientFor` gives each cluster's client (undefined: none). */
export function applySession(
  clusters: readonly string[],
  clientFor: (cluster: string) => ClusterClient | undefined,
  opts: ApplyOptions,
): ApplySession {
  const runs = new Map<string, ClusterRun>();
  for (const name of clusters) runs.set(name, { results: [], wave: -Infinity, waiters: [] });
  /** Resolves once `cluster` has finished every wave before `wave` (or stopped, or was skipped). */
  const reached = (cluster: string, wave: number): Promise<void> => {
    const r = runs.get(cluster);
    if (!r || r.wave >= wave) return Promise.resolve();
    return new Promise((resolve) => r.waiters.push({ wave, resolve }));
  };
  const advance = (r: ClusterRun, wave: number) => {
    r.wave = wave;
    for (const w of r.waiters.filter((x) => x.wave <= wave)) w.resolve();
    r.waiters = r.waiters.filter((x) => x.wave > wave);
  };
  return {
    skip(cluster) {
      const r = runs.get(cluster);
      if (r) advance(r, Infinity);
    },
    async apply(cp) {
      let r = runs.get(cp.cluster);
      if (!r) runs.set(cp.cluster, (r = { results: [], wave: -Infinity, waiters: [] }));
      const client = clientFor(cp.cluster);
      if (cp.error) r.error = `not observed: ${cp.error}`;
      else if (cp.blocked) r.error = `blocked: ${cp.blocked}`;
      else if (!client) r.error = "no client";
      try {
        if (cp.actions.length) opts.onProgress?.(cp.cluster, "start");
        await applyCluster(cp, r, client!, clientFor, opts, reached, advance);
      } finally {
        advance(r, Infinity);
        if (cp.actions.length) opts.onProgress?.(cp.cluster, "done");
      }
      const cs: ClusterChangeSet = {
        cluster: cp.cluster,
        results: r.results,
        converged: !r.error && r.results.every((x) => x.status === "done"),
      };
      if (r.error) cs.error = r.error;
      return cs;
    },
  };
}

async function applyCluster(
  cp: ClusterPlan,
  r: ClusterRun,
  client: ClusterClient,
  clientFor: (cluster: string) => ClusterClient | undefined,
  opts: ApplyOptions,
  reached: (cluster: string, wave: number) => Promise<void>,
  advance: (r: ClusterRun, wave: number) => void,
): Promise<void> {
  const cluster = cp.cluster;
  const stop = (): string | undefined =>
    r.error ?? (opts.signal?.aborted ? `aborted: ${abortText(opts.signal)}` : undefined);
  for (const wave of wavesOf(cp.actions)) {
    advance(r, wave);
    const actions = cp.actions.filter((a) => waveOf(a) === wave);
    if (stop()) {
      for (const action of actions) r.results.push({ action, status: "skipped", error: stop()! });
      continue;
    }
    const results = await mapLimit(actions, opts.concurrency, async (action): Promise<ActionResult> => {
      if (action.type === "credentials") await reached(action.issue.to, wave);
      const why = stop();
      if (why) return { action, status: "skipped", error: why };
      try {
        await execute(action, client, clientFor, opts);
        return { action, status: "done" };
      } catch (err) {
        if (!r.error) r.error = stopReason(err, cluster, opts.signal);
        // Without its kinds record written, no object of a new kind may follow (src/engine/kinds-record.ts).
        if (
          !r.error &&
          action.type !== "credentials" &&
          action.type !== "delete" &&
          isKindsRecordRef(refOf(action.object))
        )
          r.error = `kinds record not written: ${errorMessage(err)}`;
        return { action, status: "failed", error: errorMessage(err) };
      }
    });
    r.results.push(...results);
  }
}

/** Why a failed action stops its cluster's remaining actions, or undefined when it does not. */
function stopReason(err: unknown, cluster: string, signal?: AbortSignal): string | undefined {
  if (signal?.aborted) return `aborted: ${abortText(signal)}`;
  if (!(err instanceof KubeError) || err.cluster !== cluster) return undefined;
  if (err.code === "KUBE_ABORTED") return `aborted: ${err.message}`;
  if (err.code === "KUBE_UNREACHABLE" || err.code === "KUBE_TIMEOUT") return `stopped answering: ${err.message}`;
  return undefined;
}

/** Waves of one cluster: apply ranks ascending, then delete ranks descending (as 1000 − rank, after all applies). */
function wavesOf(actions: readonly Action[]): number[] {
  return [...new Set(actions.map(waveOf))].sort((a, b) => a - b);
}

function waveOf(a: Action): number {
  const r = actionRank(a);
  return a.type === "delete" ? 1000 - r : r;
}

async function execute(
  action: Action,
  client: ClusterClient,
  clientFor: (cluster: string) => ClusterClient | undefined,
  opts: ApplyOptions,
): Promise<void> {
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
      await issueCredentials(action, client, clientFor, opts);
      return;
  }
}

async function issueCredentials(
  action: CredentialsAction,
  client: ClusterClient,
  clientFor: (cluster: string) => ClusterClient | undefined,
  opts: ApplyOptions,
): Promise<void> {
  const { issue } = action;
  const w = { dryRun: opts.dryRun, fieldManager: opts.fieldManager };
  const target = clientFor(issue.to);
  if (!target)
    throw new KubeError("KUBE_UNREACHABLE", `link ${issue.from}→${issue.to}: no client for ${issue.to}`, issue.to);
  const token = opts.dryRun ? "dry-run" : await obtainToken(action, target, opts);
  const [mc, ctl] = issuedSecrets(issue, token) as [KubeObject, KubeObject];
  // Forced: crosslink owns the credentials, also when they were adopted from another field manager (kubectl).
  await client.apply(mc, { ...w, force: true });
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
    return (
      await target.createToken(
        issue.target.namespace,
        issue.target.serviceAccount,
        issue.ttlSeconds,
        opts.signal ? { signal: opts.signal } : {},
      )
    ).token;
  }
  const ref = {
    apiVersion: "v1",
    kind: "Secret",
    namespace: issue.target.namespace,
    name: issue.target.tokenSecret ?? "",
  };
  const deadline = Date.now() + opts.tokenWaitMs;
  for (;;) {
    const secret = await target.get(ref, opts.signal ? { signal: opts.signal } : {});
    const token = (secret?.data as Record<string, string> | undefined)?.token;
    if (token) return Buffer.from(token, "base64").toString("utf8");
    if (Date.now() > deadline) {
      throw new KubeError(
        "KUBE_TIMEOUT",
        `Secret ${ref.namespace}/${ref.name} in ${issue.to}: no token after ${opts.tokenWaitMs}ms`,
        issue.to,
      );
    }
    await sleep(250, opts.signal);
  }
}
