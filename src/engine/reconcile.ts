/**
 * The composition root of the pipeline: observe → render → plan (→ apply).
 * `crosslink diff`, `render`, `apply`, `plan --live` and the daemon all call
 * `reconcile`; its options, with their defaults, are defined here once.
 * Commands parse flags, call it, and print; each stage stays in its module.
 *
 * Bounds: every cluster's observation runs under its own deadline and every
 * cluster's apply under another, on top of the client's per-request retry
 * policy, so one hung cluster costs the others at most the observe deadline
 * (and nothing while the daemon backs it off). One abort signal (a lost
 * Lease, SIGTERM, Ctrl-C) reaches every request in flight; the `mayWrite`
 * fence is checked before each write is sent.
 */
import { setMaxListeners } from "node:events";
import { scopedClient, type ClusterClient } from "../kube/port.js";
import { FIELD_MANAGER } from "../kube/http-client.js";
import type { Topology } from "../topology/types.js";
import { scopedSignal } from "../util/abort.js";
import { applyPlan, type ChangeSet } from "./apply.js";
import type { ClusterFacts, ClusterObservation } from "./facts.js";
import { observeAll } from "./observe.js";
import { plan as makePlan, type PlanOptions } from "./plan/plan.js";
import type { Plan } from "./plan/actions.js";
import { render } from "./render/render.js";
import type { DesiredCluster } from "./render/desired.js";

/** Options of a reconcile, for every caller: the plan's (field manager, prune guard) and the rest. */
export interface ReconcileOptions extends PlanOptions {
  /** The clock render and apply read (credentials' rotation time, annotations). */
  now: () => Date;
  /** `dryRun=All` writes: the API servers validate, nothing is stored. */
  dryRun: boolean;
  /** Writes in flight per cluster. */
  concurrency: number;
  /** How long to wait for a service-account-token Secret to get its token. */
  tokenWaitMs: number;
  /** Bound on one cluster's whole observation (every request and retry). */
  observeDeadlineMs: number;
  /** Bound on one cluster's whole apply. */
  applyDeadlineMs: number;
  /** Aborts everything: requests in flight, retries, remaining actions. */
  signal?: AbortSignal;
  /** The write fence: checked right before each write is sent; false refuses it. */
  mayWrite?: () => boolean;
  /** Issue new credentials for every link whatever their age (`apply --rotate-credentials`). */
  rotateCredentials?: boolean;
  /** Progress, for status: a phase starting or ending in a cluster. */
  onProgress?: (event: ProgressEvent) => void;
}

/** A phase starting or ending in one cluster. */
export interface ProgressEvent {
  phase: "observe" | "apply";
  cluster: string;
  state: "start" | "done";
}

/** The defaults of every option but the clock. */
export const RECONCILE_DEFAULTS = {
  fieldManager: FIELD_MANAGER,
  allowMassPrune: false,
  dryRun: false,
  concurrency: 8,
  tokenWaitMs: 30_000,
  observeDeadlineMs: 15_000,
  applyDeadlineMs: 120_000,
} as const satisfies Partial<ReconcileOptions>;

/** Options from the defaults, the system clock and the given overrides. */
export function reconcileOptions(overrides: Partial<ReconcileOptions> = {}): ReconcileOptions {
  return { ...RECONCILE_DEFAULTS, now: () => new Date(), ...overrides };
}

/** A plan with what it was computed from. */
export interface PlanRun {
  plan: Plan;
  observations: ClusterObservation[];
  desired: Map<string, DesiredCluster>;
}

/** What a reconcile did: the plan, and the changes when it applied. */
export interface ReconcileRun extends PlanRun {
  changes?: ChangeSet;
}

/**
 * Observes, renders and plans; then, when `decide` says so (after seeing the
 * plan), applies. Without `decide` nothing is written.
 */
export async function reconcile(
  topology: Topology,
  clients: ReadonlyMap<string, ClusterClient>,
  opts: ReconcileOptions,
  decide?: (run: PlanRun) => boolean | Promise<boolean>,
): Promise<ReconcileRun> {
  const run = await planTopology(topology, clients, opts);
  if (!decide || !(await decide(run)) || opts.signal?.aborted) return run;
  return { ...run, changes: await applyRun(run, clients, opts) };
}

/** Observes every cluster (each under its deadline), renders the desired state and plans the changes. */
export async function planTopology(
  topology: Topology,
  clients: ReadonlyMap<string, ClusterClient>,
  opts: ReconcileOptions,
): Promise<PlanRun> {
  const observations = await observeAll(topology, clients, {
    scope: (cluster, client) => {
      const s = scopedSignal([opts.signal], opts.observeDeadlineMs, `observing ${cluster}`);
      // Requests still in flight when the observation ends (one of them failed) are cancelled.
      const end = new AbortController();
      const signal = AbortSignal.any([s.signal, end.signal]);
      setMaxListeners(0, signal);
      return {
        client: scopedClient(client, { signal }),
        done: () => {
          s.dispose();
          end.abort(new Error(`observation of ${cluster} ended`));
        },
      };
    },
    onProgress: (cluster, state) => opts.onProgress?.({ phase: "observe", cluster, state }),
  });
  const facts = new Map<string, ClusterFacts>();
  for (const o of observations) if (o.ok) facts.set(o.cluster, o.facts);
  const desired = render({
    topology,
    facts,
    now: opts.now(),
    ...(opts.rotateCredentials ? { rotateCredentials: true } : {}),
  });
  const { fieldManager, allowMassPrune, allowedBy, previous } = opts;
  const plan = makePlan(topology, observations, desired, {
    fieldManager,
    allowMassPrune,
    ...(allowedBy ? { allowedBy } : {}),
    ...(previous ? { previous } : {}),
  });
  return { plan, observations, desired };
}

/** Applies a planned run, every cluster under its apply deadline, the signal and the fence. */
export async function applyRun(
  run: PlanRun,
  clients: ReadonlyMap<string, ClusterClient>,
  opts: ReconcileOptions,
): Promise<ChangeSet> {
  const scopes: { dispose(): void }[] = [];
  const scoped = new Map<string, ClusterClient>();
  for (const [name, client] of clients) {
    const s = scopedSignal([opts.signal], opts.applyDeadlineMs, `applying to ${name}`);
    scopes.push(s);
    scoped.set(name, scopedClient(client, { signal: s.signal, ...(opts.mayWrite ? { mayWrite: opts.mayWrite } : {}) }));
  }
  try {
    return await applyPlan(run.plan, scoped, {
      dryRun: opts.dryRun,
      fieldManager: opts.fieldManager,
      concurrency: opts.concurrency,
      now: opts.now,
      tokenWaitMs: opts.tokenWaitMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (cluster, state) => opts.onProgress?.({ phase: "apply", cluster, state }),
    });
  } finally {
    for (const s of scopes) s.dispose();
  }
}

/** The issuer certificate each cluster showed (for the review's XL703), from a planned run. */
export function observedIssuers(run: PlanRun): { cluster: string; issuerCertPem?: string }[] {
  return run.observations.map((o) => ({
    cluster: o.cluster,
    ...(o.ok && o.facts.issuerCertPem ? { issuerCertPem: o.facts.issuerCertPem } : {}),
  }));
}
