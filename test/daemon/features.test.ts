/**
 * Daemon features end to end, against two harness clusters and `git
 * http-backend` on loopback: suspension (flag, file, Lease annotation),
 * `--drift report` versus self-heal of a hand edit, commit signatures, and
 * per-cluster backoff when one cluster's API server dies.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import * as openpgp from "openpgp";
import { parseDocument } from "yaml";
import { ConfigError, parseRunConfig, type DaemonConfig } from "../../src/daemon/config.js";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { SUSPEND_ANNOTATION } from "../../src/daemon/lease.js";
import { createLogger } from "../../src/daemon/log.js";
import type { ClusterStatus, DaemonStatus } from "../../src/daemon/status.js";
import { pidAlive, type StartedClusters } from "../harness/driver.js";
import { type ClusterAccess } from "../../src/kube/access.js";
import { FIELD_MANAGER } from "../../src/kube/http-client.js";
import type { GitServer } from "../support/git-server.js";
import {
  daemonArgs,
  type DaemonEnv,
  freshCache,
  handEditWeights,
  runConfig,
  setupDaemonEnv,
  signedCommit,
  SPLIT_ROUTE,
  splitWeights,
  testClients,
  clientTotals,
  distinctClients,
  type TestRepo,
  waitFor,
} from "./support.js";

const EVERY_SECOND = "*/1 * * * * *";
let tmp: string;
let clusters: StartedClusters;
let server: GitServer;
let repo: TestRepo & { first: string };
let check: ClusterAccess;
const running: Daemon[] = [];

let env: DaemonEnv;

before(async () => {
  env = await setupDaemonEnv("crosslink-features-");
  ({ tmp, clusters, server, repo, check } = env);
});

after(async () => {
  for (const d of running) await d.stop().catch(() => {});
  await env?.teardown();
});

function config(extra: string[]): DaemonConfig {
  const cfg = runConfig([
    ...daemonArgs({ server, clusters, tmp }, freshCache()),
    "--shutdown-timeout",
    "10s",
    "--schedule",
    EVERY_SECOND,
    ...extra,
  ]);
  return cfg;
}

/**
 * `requests`: those the reconciles send to a cluster (a watch cache's re-opening of its streams, on its own
 * backoff, is how a cluster that comes back is noticed: not counted); `watchOpens`: those re-openings.
 */
type Counted = Daemon & { writes(): number; requests(cluster: string): number; watchOpens(cluster: string): number };

/** A started daemon whose cluster requests and writes are counted. */
async function daemon(extra: string[], tweak: (c: DaemonConfig) => void = () => {}): Promise<Counted> {
  const accesses: ClusterAccess[] = [];
  const cfg = config(extra);
  tweak(cfg);
  const d = await createDaemon(cfg, {
    log: createLogger("silent"),
    clients: testClients(clusters.kubeconfigPath, accesses, 3_000),
  });
  const watchOpens = (cluster: string) =>
    [...distinctClients(accesses, cluster)].reduce((n, c) => n + (c.counters.byVerb.watch ?? 0), 0);
  running.push(d);
  await d.start();
  return Object.assign(d, {
    writes: () => clientTotals(accesses).writes,
    requests: (cluster: string) => clientTotals(accesses, cluster).requests - watchOpens(cluster),
    watchOpens,
  });
}

async function stop(d: Daemon): Promise<void> {
  await d.stop();
  running.splice(running.indexOf(d), 1);
}

const status = async (d: Daemon): Promise<DaemonStatus> =>
  (await (await fetch(`${d.url()}/status`)).json()) as DaemonStatus;
/** waitFor, with the daemon's status in the error when it times out. */
async function until<T>(
  d: Daemon,
  what: string,
  fn: () => Promise<T> | T,
  timeoutMs: number,
  everyMs = 100,
): Promise<NonNullable<T>> {
  try {
    return await waitFor(what, fn, timeoutMs, everyMs);
  } catch (err) {
    const s = await status(d).catch(() => undefined);
    throw new Error(
      `${(err as Error).message}\nstatus: ${JSON.stringify({ ...s, lastErrors: s?.lastErrors.slice(0, 4) })}`,
    );
  }
}
const cluster = (s: DaemonStatus, name: string): ClusterStatus | undefined => s.clusters.find((c) => c.name === name);

/**
 * Waits until `n` more ticks have reconciled or found nothing changed (watches: skipped as unchanged), not
 * ticks skipped for other reasons; returns the status then.
 */
async function reconciles(d: Daemon, n: number, timeoutMs = 10_000): Promise<DaemonStatus> {
  const ticks = (s: DaemonStatus) => s.reconciles + (s.unchangedTicks ?? 0);
  const base = ticks(await status(d));
  return waitFor(
    `${n} more reconciles`,
    async () => {
      const s = await status(d);
      return ticks(s) >= base + n ? s : undefined;
    },
    timeoutMs,
    100,
  );
}

const LINK = {
  apiVersion: "multicluster.linkerd.io/v1alpha3",
  kind: "Link",
  namespace: "linkerd-multicluster",
  name: "workload2",
};
const w1 = () => check.clients.get("workload1")!;
const hasWeights = async (a: number, b: number) => JSON.stringify(await splitWeights(w1())) === JSON.stringify([a, b]);

/** The time crosslink's field manager last wrote the HTTPRoute. */
async function crosslinkWriteTime(): Promise<string | undefined> {
  const hr = await check.clients.get("workload1")!.get(SPLIT_ROUTE);
  const entry = hr?.metadata.managedFields?.find((m) => m.manager === FIELD_MANAGER && m.operation === "Apply");
  return entry
    ? `${String((entry as Record<string, unknown>).time)} ${hr?.metadata.resourceVersion as string}`
    : undefined;
}

const setWeights = (a: number, b: number) => (doc: Parameters<Parameters<TestRepo["edit"]>[1]>[0]) => {
  doc.setIn(["spec", "splits", 0, "backends", 0, "weight"], a);
  doc.setIn(["spec", "splits", 0, "backends", 1, "weight"], b);
};

/** After a commit: the daemon has validated it and then reconciled at least twice more, all without writing. */
async function plannedNotApplied(d: Counted, revision: string, writes: number): Promise<DaemonStatus> {
  await waitFor("the commit validated", async () => (await status(d)).revision.lastGood === revision, 10_000);
  const s = await reconciles(d, 2);
  assert.equal(d.writes(), writes, "no writes");
  assert.ok(s.lastReconcile!.plan.update >= 1, `the plan shows the update: ${JSON.stringify(s.lastReconcile!.plan)}`);
  assert.equal(s.lastReconcile!.wrote, false);
  assert.ok(cluster(s, "workload1")!.planned >= 1);
  assert.equal(cluster(s, "workload1")!.state, "pending");
  assert.notEqual(s.revision.applied, revision, "not reported as applied");
  return s;
}

test("suspend: the file and the Lease annotation stop writes while status keeps planning; lifting either applies the commit", async () => {
  const suspendFile = path.join(tmp, "suspend");
  const lease = [
    "--leader-elect",
    "--lease-context",
    "workload1",
    "--lease-namespace",
    "default",
    "--lease-name",
    "crosslink-features",
    "--lease-duration",
    "3s",
  ];
  const d = await daemon([...lease, "--identity", "suspend-test", "--suspend-file", suspendFile]);
  await until(
    d,
    "the first commit applied",
    async () => (await status(d)).revision.applied === repo.first,
    60_000,
    200,
  );
  assert.ok(await hasWeights(50, 50));

  // The suspend file.
  writeFileSync(suspendFile, "");
  await until(d, "status says suspended", async () => (await status(d)).suspended, 10_000);
  let writes = d.writes();
  const managedAt = await crosslinkWriteTime();
  const c1 = repo.edit("weights 90/10", setWeights(90, 10));
  const s1 = await plannedNotApplied(d, c1, writes);
  assert.equal(s1.suspended, true);
  assert.match(await (await fetch(`${d.url()}/metrics`)).text(), /crosslink_suspended 1/);
  assert.ok(await hasWeights(50, 50), "the committed weights are not applied");
  assert.equal(await crosslinkWriteTime(), managedAt, "crosslink's field manager did not write");
  rmSync(suspendFile);
  await until(
    d,
    "90/10 applied once the file is gone",
    async () => (await hasWeights(90, 10)) && (await status(d)).revision.applied === c1,
    10_000,
    100,
  );
  assert.equal((await status(d)).suspended, false);
  assert.ok(d.writes() > writes);

  // The Lease annotation, set and removed by an operator.
  const w1 = check.clients.get("workload1")!;
  const leaseRef = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: "default",
    name: "crosslink-features",
  };
  await w1.patch(
    leaseRef,
    { metadata: { annotations: { [SUSPEND_ANNOTATION]: "true" } } },
    { fieldManager: "operator" },
  );
  await until(d, "status says suspended (annotation)", async () => (await status(d)).suspended, 10_000);
  writes = d.writes();
  const c2 = repo.edit("weights 70/30", setWeights(70, 30));
  await plannedNotApplied(d, c2, writes);
  assert.ok(await hasWeights(90, 10));
  assert.ok(d.elector!.isLeader(), "still the holder: suspension is not a loss of leadership");
  await w1.patch(leaseRef, { metadata: { annotations: { [SUSPEND_ANNOTATION]: null } } }, { fieldManager: "operator" });
  await until(
    d,
    "70/30 applied once the annotation is gone",
    async () => (await hasWeights(70, 30)) && (await status(d)).revision.applied === c2,
    10_000,
    100,
  );
  assert.equal((await status(d)).suspended, false);
  await stop(d);
});

test("suspend: the --suspend flag plans and reports but never writes; a daemon without it applies", async () => {
  const c3 = repo.edit("weights 60/40", setWeights(60, 40));
  const d = await daemon(["--suspend"]);
  const s = await plannedNotApplied(d, c3, 0);
  assert.equal(s.suspended, true);
  assert.equal(s.revision.head, c3);
  assert.ok(await hasWeights(70, 30));
  await stop(d);
  const e = await daemon([]);
  await until(
    e,
    "60/40 applied",
    async () => (await hasWeights(60, 40)) && (await status(e)).revision.applied === c3,
    15_000,
    100,
  );
  await stop(e);
});

test("--drift report: a hand edit and a deleted Link are reported, not reverted; a new commit is still applied; heal reverts a hand edit", async () => {
  const w1 = check.clients.get("workload1")!;
  const d = await daemon(["--drift", "report"]);
  await until(d, "in sync", async () => (await status(d)).lastReconcile?.result === "ok", 15_000);
  assert.equal(d.writes(), 0);

  await handEditWeights(w1, 10, 90);
  let s = await until(
    d,
    "the edit reported",
    async () => {
      const s = await status(d);
      return s.lastReconcile!.plan.update >= 1 ? s : undefined;
    },
    10_000,
  );
  assert.equal(s.drift, "report");
  assert.ok(cluster(s, "workload1")!.planned >= 1);
  assert.ok(await w1.delete(LINK));
  s = await until(
    d,
    "the deletion reported",
    async () => {
      const s = await status(d);
      return s.lastReconcile!.plan.create >= 1 ? s : undefined;
    },
    10_000,
  );
  await reconciles(d, 2);
  assert.equal(d.writes(), 0, "report mode writes nothing for drift");
  assert.ok(await hasWeights(10, 90), "the hand edit stays");
  assert.equal(await w1.get(LINK), undefined, "the Link stays deleted");

  const c4 = repo.edit("weights 40/60", setWeights(40, 60));
  await until(
    d,
    "a new revision is applied in report mode",
    async () => (await hasWeights(40, 60)) && (await status(d)).revision.applied === c4,
    15_000,
    100,
  );
  assert.ok(await w1.get(LINK), "applying the revision re-creates the Link");
  await stop(d);

  const h = await daemon([]);
  await until(h, "in sync", async () => (await status(h)).lastReconcile?.result === "ok", 15_000);
  await handEditWeights(w1, 5, 95);
  await until(h, "heal reverts the hand edit", async () => hasWeights(40, 60), 10_000, 100);
  const after = await reconciles(h, 1);
  assert.equal(after.lastReconcile!.plan.update, 0, JSON.stringify(after.lastReconcile));
  assert.equal(after.lastReconcile!.result, "ok");
  await stop(h);
});

test("signatures: with trusted keys an unsigned or foreign-signed head is refused (nothing applied); a signed commit is applied", async () => {
  const trusted = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "release", email: "release@example.com" }],
    format: "armored",
  });
  const other = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "mallory", email: "m@example.com" }],
    format: "armored",
  });
  const keyFile = path.join(tmp, "trusted.asc");
  writeFileSync(keyFile, trusted.publicKey);
  const edit = (a: number, b: number) => {
    const doc = parseDocument(repo.readTopology());
    setWeights(a, b)(doc);
    repo.writeTopology(doc.toString());
  };
  const good = await signedCommit(repo.work, trusted.privateKey, "signed: weights 40/60");
  const d = await daemon(["--trusted-keys", keyFile]);
  await until(d, "the signed head applied", async () => (await status(d)).revision.applied === good, 15_000);
  const writes = d.writes();

  edit(20, 80);
  const unsigned = repo.commit("unsigned: weights 20/80");
  let s = await until(
    d,
    "the unsigned commit refused",
    async () => {
      const s = await status(d);
      return s.rejected?.revision === unsigned ? s : undefined;
    },
    10_000,
  );
  assert.equal(s.rejected!.reason, "signature");
  assert.match(s.rejected!.message, /not signed/);
  assert.equal(s.revision.head, unsigned);
  assert.equal(s.revision.lastGood, good);
  s = await reconciles(d, 2);
  assert.equal(s.rejected?.revision, unsigned, "still refused");
  assert.equal(d.writes(), writes, "nothing written");
  assert.ok(await hasWeights(40, 60));

  edit(30, 70);
  const forged = await signedCommit(repo.work, other.privateKey, "foreign: weights 30/70");
  s = await until(
    d,
    "the foreign-signed commit refused",
    async () => {
      const s = await status(d);
      return s.rejected?.revision === forged ? s : undefined;
    },
    10_000,
  );
  assert.equal(s.rejected!.reason, "signature");
  assert.match(s.rejected!.message, /not a trusted key/);
  await reconciles(d, 1);
  assert.equal(d.writes(), writes, "nothing written");
  assert.ok(await hasWeights(40, 60));

  edit(35, 65);
  const signed = await signedCommit(repo.work, trusted.privateKey, "signed: weights 35/65");
  await until(
    d,
    "the signed commit applied",
    async () => (await hasWeights(35, 65)) && (await status(d)).revision.applied === signed,
    15_000,
    100,
  );
  s = await status(d);
  assert.equal(s.rejected, undefined);
  assert.equal(s.fetch.ok, true);
  await stop(d);
});

test("per-cluster backoff: a dead cluster is skipped while backed off, the other keeps reconciling, the daemon survives", async () => {
  const base = 5_000;
  const d = await daemon([], (c) => {
    c.backoffBaseMs = base;
    c.backoffMaxMs = 4 * base;
  });
  await until(d, "in sync", async () => (await status(d)).lastReconcile?.result === "ok", 15_000);
  const dead = clusters.clusters.find((c) => c.name === "workload2")!;
  process.kill(dead.pid, "SIGKILL");
  await waitFor("workload2 gone", () => !pidAlive(dead.pid), 10_000, 50);

  // Usually the watches see the connection close at once; when they do not, their PING (5 s idle, 10 s for the ack)
  // finds the server gone within 15 s, then a reconcile reports it: hence 30 s.
  const first = await until(
    d,
    "workload2 unreachable",
    async () => {
      const s = await status(d);
      const c = cluster(s, "workload2");
      return c?.state === "unreachable" ? c : undefined;
    },
    30_000,
    50,
  );
  assert.equal(first.failures, 1);
  assert.ok(first.backoffUntil && first.error, JSON.stringify(first));

  /** Waits for a tick that skipped workload2; then two more reconciles (one a second) must not contact it. */
  const skippedWhileBackedOff = async (failures: number, until_: string) => {
    await until(
      d,
      `a tick skipping workload2 (failures ${failures})`,
      async () => {
        const c = cluster(await status(d), "workload2");
        return c?.state === "backoff" && c.failures === failures;
      },
      5_000,
      50,
    );
    // Retries of the failed observation that were already in flight have ended by now.
    const requests = d.requests("workload2");
    const s = await reconciles(d, 2, base);
    const c = cluster(s, "workload2")!;
    assert.ok(
      Date.parse(until_) > Date.parse(s.lastReconcile!.at),
      `inside the window: ${s.lastReconcile!.at} < ${until_}`,
    );
    assert.equal(c.state, "backoff", JSON.stringify(c));
    assert.equal(c.backoffUntil, until_);
    assert.equal(c.failures, failures);
    assert.equal(d.requests("workload2"), requests, "no request to a backed-off cluster");
    return s;
  };

  // While backed off: ticks go on, workload2 is not contacted, workload1 takes a commit.
  const commit = repo.edit("weights 25/75 while workload2 is down", setWeights(25, 75));
  await skippedWhileBackedOff(1, first.backoffUntil!);
  await until(d, "workload1 applies the commit", async () => hasWeights(25, 75), 10_000, 100);
  assert.equal(cluster(await status(d), "workload1")!.state, "ok");
  const requestsAtFirst = d.requests("workload2");
  const opensAtFirst = d.watchOpens("workload2");

  // The next attempt after the backoff: one more failure, a doubled backoff.
  const second = await until(
    d,
    "the second attempt",
    async () => {
      const c = cluster(await status(d), "workload2");
      return c && (c.failures ?? 0) >= 2 ? c : undefined;
    },
    2 * base,
    50,
  );
  assert.equal(second.failures, 2);
  const gap = Date.parse(second.backoffUntil!) - Date.parse(first.backoffUntil!);
  assert.ok(gap >= base, `the backoff grew: ${gap} ms`);
  // Re-observed: workload2's client was kept across the commit, its watches are down, so its cache answers
  // "stale" without a request (watch-cache.ts STALE_AFTER_MS) while they keep trying to re-open.
  console.log(
    `after the backoff: ${d.requests("workload2") - requestsAtFirst} request(s) from reconciles, ` +
      `${d.watchOpens("workload2") - opensAtFirst} watch re-open(s); second error: ${second.error}`,
  );
  assert.match(second.error ?? "", /down for \d+ s, the cache is stale/, "re-observed after the backoff");
  const s = await skippedWhileBackedOff(2, second.backoffUntil!);
  assert.equal(s.revision.lastGood, commit);
  assert.notEqual(s.revision.applied, commit, "not applied everywhere: workload2 is down");
  assert.ok(s.lastErrors.some((e) => e.cluster === "workload2"));
  const metrics = await (await fetch(`${d.url()}/metrics`)).text();
  assert.match(metrics, /crosslink_cluster_reachable\{cluster="workload2"\} 0/);
  assert.match(metrics, /crosslink_cluster_reachable\{cluster="workload1"\} 1/);
  assert.equal((await fetch(`${d.url()}/healthz`)).status, 200);
  // Meanwhile the watches keep trying to re-open, on their own backoff (up to 30 s apart, so not necessarily inside
  // the cluster's backoff window): that is how a cluster that comes back is noticed.
  await until(
    d,
    "a watch of workload2 tries to re-open",
    async () => d.watchOpens("workload2") > opensAtFirst || undefined,
    35_000,
    100,
  );
  await stop(d);
});

test("--trusted-keys with a local directory is a configuration error, not a silently skipped check", () => {
  assert.throws(
    () => parseRunConfig(["--repo", tmp, "--trusted-keys", path.join(tmp, "trusted.asc")], {}),
    (e: unknown) => e instanceof ConfigError && /--trusted-keys/.test(e.message),
  );
});
