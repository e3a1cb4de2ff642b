/**
 * The composition root of the pipeline: observe → render → plan (→ apply).
 * `crosslink diff`, `render`, `apply`, `plan --live` and the daemon all call
 * `reconcile`; its options, with their defaults, are defined here once.
 * Commands parse flags, call it, and print; each stage stays in its module.
 *
 * Bounds: every cluster's observation runs under its own deadline and every
 * cluster's apply under another, on top of the client's per-request retry
 * policy. `reconcile` (the commands: one plan shown, then applied) waits for
 * every observation, so one hung cluster costs the others at most the
 * observe deadline; `reconcileEach` (the daemon) plans and applies each
 * cluster as soon as the clusters its desired state is rendered from are
 * observed, so a hung cluster delays only the clusters linking to it, which
 * are reported as waiting on it. One abort signal (a lost Lease, SIGTERM,
 * Ctrl-C) reaches every request in flight; the `mayWrite` fence is checked
 * before each write is sent.
 */
import { setMaxListeners } from "node:events";
import { scopedClient, type ClusterClient } from "../kube/port.js";
import { FIELD_MANAGER } from "../kube/http-client.js";
import type { Topology } from "../topology/types.js";
import { scopedSignal } from "../util/abort.js";
import { applyPlan, applySession, type ApplyOptions, type ChangeSet, type ClusterChangeSet } from "./apply.js";
import type { ClusterFacts, ClusterObservation } from "./facts.js";
import { observeAll, type ObserveOptions } from "./observe.js";
import { declarationsFromLive } from "./plan/declarations.js";
import {
  plan as makePlan,
  massVerdict,
  planOne,
  unobservedPlan,
  type MassVerdict,
  type PlanOptions,
} from "./plan/plan.js";
import type { ClusterPlan, Plan } from "./plan/actions.js";
import { render, renderCluster, renderDependencies } from "./render/render.js";
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
  /** The write fence, per cluster written: checked right before each write is sent; false refuses it. */
  mayWrite?: (cluster: string) => boolean;
  /**
   * `reconcileEach` only: the clusters to plan and apply (a shard); the others are observed only when one of
   * these is rendered from them, and accept no write but the TokenRequest of a link source's credentials.
   */
  only?: ReadonlySet<string>;
  /** Issue new credentials for every link whatever their age (`apply --rotate-credentials`). */
  rotateCredentials?: boolean;
  /** Progress, for status: a phase starting or ending in a cluster. */
  onProgress?: (event: ProgressEvent) => void;
}

/** A phase starting or ending in one cluster; "wait": observed, waiting for the clusters in `waitingOn`. */
export interface ProgressEvent {
  phase: "observe" | "wait" | "apply";
  cluster: string;
  state: "start" | "done";
  /** For "wait": the clusters not observed yet that this cluster's plan needs. */
  waitingOn?: string[];
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
  const observations = await observeAll(topology, clients, observeHooks(opts));
  const facts = new Map<string, ClusterFacts>();
  for (const o of observations) if (o.ok) facts.set(o.cluster, o.facts);
  const desired = render({
    topology,
    facts,
    now: opts.now(),
    ...(opts.rotateCredentials ? { rotateCredentials: true } : {}),
  });
  const plan = makePlan(topology, observations, desired, planOptions(opts));
  return { plan, observations, desired };
}

/** A cluster's plan is ready: whether to apply it now. */
export type DecideCluster = (plan: ClusterPlan) => boolean | Promise<boolean>;

/** The part of a `reconcileEach` run that has ended when the caller asked to move on, and what goes on alone. */
export interface SettledRun {
  run: ReconcileRun;
  /** The clusters that have not ended. */
  remaining: string[];
  /** Those of `remaining` that were planned and are being applied (the others are observing or waiting). */
  applying: string[];
}

/** A run of `reconcileEach`: the whole of it, and the part that has ended when the caller asked to move on. */
export interface EachRun {
  /** Every cluster's plan and changes, once every cluster has ended. */
  done: Promise<ReconcileRun>;
  /**
   * Once every cluster has ended, or once `yieldWhen` has resolved: the run of
   * the clusters that have ended, and the others (still observing, waiting for
   * one that is, or applying), which go on under their deadlines until `done`.
   */
  settled: Promise<SettledRun>;
}

/**
 * Observes every cluster and, as soon as the clusters one cluster's desired
 * state is rendered from (itself and its link targets) are observed, renders,
 * plans and, when `decide` says so, applies it; other clusters' observations
 * and applies go on meanwhile. A cluster waiting for a slower one is reported
 * (progress "wait", with the clusters it waits on). Without `opts.previous`
 * the mass-removal rule (XL641) compares with what every cluster holds, so
 * then each cluster waits for every observation. The plans are those
 * `reconcile` makes from the same observations, in topology order; `changes`
 * holds the clusters that were applied (undefined: none).
 */
export function reconcileEach(
  topology: Topology,
  clients: ReadonlyMap<string, ClusterClient>,
  opts: ReconcileOptions,
  decide: DecideCluster,
  yieldWhen?: Promise<void>,
): EachRun {
  const all = topology.clusters.map((c) => c.name);
  const names = opts.only ? all.filter((n) => opts.only!.has(n)) : all;
  const observed = new Map<string, ClusterObservation>();
  const arrivals = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  for (const name of all) {
    let resolve!: () => void;
    arrivals.set(name, { promise: new Promise<void>((r) => (resolve = r)), resolve });
  }
  const stage = new Map<string, "observing" | "working" | "ended">(names.map((n) => [n, "observing"]));
  let yielded = false;
  let settle!: (v: SettledRun) => void;
  const settled = new Promise<SettledRun>((r) => (settle = r));
  const observing = observeAll(topology, opts.only ? shardClients(topology, clients, names) : clients, {
    ...observeHooks(opts),
    onObserved: (o) => {
      observed.set(o.cluster, o);
      arrivals.get(o.cluster)?.resolve();
    },
  });
  const planOpts = planOptions(opts);
  const mass = opts.previous ? massVerdict(topology, opts.previous, planOpts) : undefined;
  let liveMass: Promise<MassVerdict> | undefined;
  const scopes = applyScopes(clients, opts);
  const session = applySession(names, scopes.clientFor, applyOptions(opts));
  const plans = new Map<string, ClusterPlan>();
  const desired = new Map<string, DesiredCluster>();
  const changes = new Map<string, ClusterChangeSet>();

  const runOf = (subset: readonly string[]): ReconcileRun => {
    const applied = subset.flatMap((n) => changes.get(n) ?? []);
    return {
      plan: { topology: topology.name, clusters: subset.map((n) => plans.get(n)!) },
      observations: subset.map((n) => observed.get(n)!),
      desired: new Map(subset.flatMap((n) => (desired.has(n) ? [[n, desired.get(n)!] as const] : []))),
      ...(applied.length ? { changes: { dryRun: opts.dryRun, clusters: applied } } : {}),
    };
  };
  const check = () => {
    const ended = names.filter((n) => stage.get(n) === "ended");
    // A cluster whose apply waits on a hung server must not hold up the next run's repairs elsewhere either.
    if (ended.length === names.length || yielded)
      settle({
        run: runOf(ended),
        remaining: names.filter((n) => stage.get(n) !== "ended"),
        applying: names.filter((n) => stage.get(n) === "working"),
      });
  };
  void yieldWhen?.then(() => {
    yielded = true;
    check();
  });

  const plan = async (name: string): Promise<ClusterPlan> => {
    await arrivals.get(name)!.promise;
    const own = observed.get(name)!;
    if (!own.ok) {
      session.skip(name);
      return unobservedPlan(name, own.error);
    }
    const needed = mass ? renderDependencies(topology, name) : names;
    const waitingOn = needed.filter((n) => !observed.has(n));
    if (waitingOn.length) {
      opts.onProgress?.({ phase: "wait", cluster: name, state: "start", waitingOn });
      await Promise.all(waitingOn.map((n) => arrivals.get(n)!.promise));
      opts.onProgress?.({ phase: "wait", cluster: name, state: "done" });
    }
    stage.set(name, "working");
    const facts = new Map<string, ClusterFacts>();
    for (const n of renderDependencies(topology, name)) {
      const o = observed.get(n);
      if (o?.ok) facts.set(n, o.facts);
    }
    const want = renderCluster(
      { topology, facts, now: opts.now(), ...(opts.rotateCredentials ? { rotateCredentials: true } : {}) },
      name,
    );
    desired.set(name, want);
    const verdict =
      mass ??
      (await (liveMass ??= observing.then((all) =>
        massVerdict(topology, declarationsFromLive(all, opts.fieldManager), planOpts),
      )));
    const cp = planOne(topology, own, want, verdict, planOpts);
    let apply = false;
    try {
      apply = !opts.signal?.aborted && (await decide(cp));
    } finally {
      if (!apply) session.skip(name);
    }
    if (apply) changes.set(name, await session.apply(cp));
    return cp;
  };
  const one = async (name: string): Promise<void> => {
    try {
      plans.set(name, await plan(name));
    } finally {
      stage.set(name, "ended");
    }
  };

  const done = (async () => {
    try {
      const outcomes = await Promise.allSettled(names.map((n) => one(n).finally(check)));
      await observing;
      const failed = outcomes.find((o) => o.status === "rejected");
      if (failed) throw failed.reason;
      return runOf(names);
    } finally {
      scopes.dispose();
    }
  })();
  // A failure ends both: `settled` must not wait for clusters that will never end.
  done.catch(() => {});
  return { done, settled: Promise.race([settled, done.then((run) => ({ run, remaining: [], applying: [] }))]) };
}

/** The clients to observe for a shard: its clusters and those they are rendered from. */
function shardClients(
  topology: Topology,
  clients: ReadonlyMap<string, ClusterClient>,
  names: readonly string[],
): ReadonlyMap<string, ClusterClient> {
  const needed = new Set(names.flatMap((n) => renderDependencies(topology, n)));
  return new Map([...clients].filter(([n]) => needed.has(n)));
}

/** Each observation under the observe deadline and the run's signal; progress reported. */
function observeHooks(opts: ReconcileOptions): ObserveOptions {
  return {
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
  };
}

function planOptions(opts: ReconcileOptions): PlanOptions {
  const { fieldManager, allowMassPrune, allowedBy, previous } = opts;
  return { fieldManager, allowMassPrune, ...(allowedBy ? { allowedBy } : {}), ...(previous ? { previous } : {}) };
}

function applyOptions(opts: ReconcileOptions): ApplyOptions {
  return {
    dryRun: opts.dryRun,
    fieldManager: opts.fieldManager,
    concurrency: opts.concurrency,
    now: opts.now,
    tokenWaitMs: opts.tokenWaitMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onProgress: (cluster, state) => opts.onProgress?.({ phase: "apply", cluster, state }),
  };
}

/**
 * Apply clients: each cluster's, made on first use (its own apply, or a link
 * source's credentials reading from it), under the apply deadline from then,
 * the run's signal and the write fence.
 */
function applyScopes(
  clients: ReadonlyMap<string, ClusterClient>,
  opts: ReconcileOptions,
): { clientFor(name: string): ClusterClient | undefined; dispose(): void } {
  const scopes: { dispose(): void }[] = [];
  const scoped = new Map<string, ClusterClient>();
  return {
    clientFor(name) {
      const client = clients.get(name);
      if (!client || scoped.has(name)) return scoped.get(name);
      const s = scopedSignal([opts.signal], opts.applyDeadlineMs, `applying to ${name}`);
      scopes.push(s);
      const fence = opts.mayWrite;
      if (opts.only && !opts.only.has(name)) {
        // Another shard's cluster: read, and asked for a token for a link from one of ours, never written.
        const reader = scopedClient(client, { signal: s.signal, mayWrite: () => false });
        const tokens = scopedClient(client, { signal: s.signal });
        scoped.set(name, { ...reader, createToken: tokens.createToken });
      } else
        scoped.set(name, scopedClient(client, { signal: s.signal, ...(fence ? { mayWrite: () => fence(name) } : {}) }));
      return scoped.get(name);
    },
    dispose: () => scopes.forEach((s) => s.dispose()),
  };
}

/** Applies a planned run, every cluster under its apply deadline, the signal and the fence. */
export async function applyRun(
  run: PlanRun,
  clients: ReadonlyMap<string, ClusterClient>,
  opts: ReconcileOptions,
): Promise<ChangeSet> {
  const scopes = applyScopes(clients, opts);
  try {
    return await applyPlan(run.plan, scopes.clientFor, applyOptions(opts));
  } finally {
    scopes.dispose();
  }
}

/** The issuer certificate each cluster showed (for the review's XL703), from a planned run. */
export function observedIssuers(run: PlanRun): { cluster: string; issuerCertPem?: string }[] {
  return run.observations.map((o) => ({
    cluster: o.cluster,
    ...(o.ok && o.facts.issuerCertPem ? { issuerCertPem: o.facts.issuerCertPem } : {}),
  }));
}
