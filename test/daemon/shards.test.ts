/**
 * Issue 14, item 4: `crosslink run --shards` with 3 real daemon processes over
 * 12 harness clusters (ring links s01→s02→…→s12→s01). Proven from outside the
 * replicas: every cluster converges (its Link and export label read back from
 * the API server), each replica's `crosslink_cluster_writes_total{held="true"}`
 * (the field manager is shared, so writes are told apart by these per-replica
 * counters, counted by each replica's HTTP client when a write is sent) shows
 * each cluster written by one replica only (its owner) in each phase of stable
 * membership, the cluster Leases' holders match the replicas' /status, and the
 * replicas' terms on each cluster Lease (from /status, with the writes sent in
 * each) never overlap over the whole run, startup included. Then one replica is
 * SIGKILLed: its clusters are taken over by the other two within the lease
 * duration plus a printed bound, and a new commit converges all 12.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../../src/kube/access.js";
import type { ShardTerm } from "../../src/daemon/shards.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { loadTopology } from "../../src/topology/index.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { pause, spawnDaemon, type DaemonChild } from "../faults/support.js";
import { TOPOLOGY_PATH, createRepo, daemonArgs, waitFor, type TestRepo } from "./support.js";

const N = 12;
const NAMES = Array.from({ length: N }, (_, i) => `s${String(i + 1).padStart(2, "0")}`);
const LEASE_MS = 4_000;
const EXPORTED = "mirror.linkerd.io/exported";

let tmp: string;
let clusters: StartedClusters;
let server: GitServer;
let repo: TestRepo;
let check: ClusterAccess;
const replicas = new Map<string, { child: DaemonChild; metrics: string; status: string }>();

function topologyText(exportMode?: "gateway" | "remote-discovery"): string {
  const lines = [
    "apiVersion: crosslink.dev/v1alpha1",
    "kind: Topology",
    "metadata:",
    "  name: shards",
    "spec:",
    "  trustAnchors:",
    "    - name: root",
    "      file: anchors/root.crt",
    "  clusters:",
    ...NAMES.map((n) => `    - name: ${n}`),
    "  links:",
    ...NAMES.flatMap((n, i) => [`    - from: ${n}`, `      to: ${NAMES[(i + 1) % N]}`]),
  ];
  if (exportMode)
    lines.push(
      "  exports:",
      ...NAMES.flatMap((n) => [
        `    - cluster: ${n}`,
        "      namespace: emojivoto",
        `      mode: ${exportMode}`,
        "      services: [web-svc]",
      ]),
    );
  return lines.join("\n") + "\n";
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-shards-"));
  const t0 = Date.now();
  clusters = await startClusters(NAMES, { log: () => {} });
  console.log(`${N} harness clusters started in ${Date.now() - t0} ms`);
  repo = createRepo(path.join(tmp, "repos"), "mesh", "podinfo-split", clusters.trustAnchorPem);
  repo.writeTopology(topologyText());
  repo.commit("12 clusters in a ring");
  server = await startGitServer({ root: path.join(tmp, "repos") });
  const { topology } = await loadTopology({
    file: path.join(repo.work, TOPOLOGY_PATH),
    text: repo.readTopology(),
    readFile: async () => clusters.trustAnchorPem,
  });
  check = clusterAccess(topology!, loadKubeConfig(clusters.kubeconfigPath), {
    attempts: 2,
    baseDelayMs: 50,
    timeoutMs: 5_000,
  });
});

after(async () => {
  for (const r of replicas.values()) r.child.kill();
  await Promise.all([...replicas.values()].map((r) => r.child.exited));
  check?.close();
  await server?.stop();
  await clusters?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function start(identity: string): void {
  const child = spawnDaemon([
    ...daemonArgs({ tmp, server, clusters }, `cache-${identity}`),
    "--shards",
    "--lease-context",
    "s01",
    "--lease-namespace",
    "default",
    "--lease-name",
    "shard-test",
    "--lease-duration",
    `${LEASE_MS / 1000}s`,
    "--identity",
    identity,
    "--schedule",
    "*/2 * * * * *",
    "--shutdown-timeout",
    "5s",
  ]);
  replicas.set(identity, { child, metrics: "", status: "" });
}

async function urlOf(identity: string): Promise<string> {
  const r = replicas.get(identity)!;
  if (!r.metrics) {
    const line = await r.child.waitLine(/"msg":"crosslink daemon started"/, 60_000);
    r.metrics = String(line.json!.url);
  }
  return r.metrics;
}

async function statusOf(identity: string): Promise<DaemonStatus> {
  return (await (await fetch(`${await urlOf(identity)}/status`)).json()) as DaemonStatus;
}

/**
 * crosslink_cluster_writes_total by cluster, from one replica's /metrics: held="true" (writes to clusters it
 * held), or held="false" (TokenRequests to a link target another replica holds).
 */
async function writesOf(identity: string, held: "true" | "false" = "true"): Promise<Map<string, number>> {
  const text = await (await fetch(`${await urlOf(identity)}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^crosslink_cluster_writes_total\{cluster="([^"]+)",held="(true|false)"\} (\d+)/gm))
    if (m[2] === held) out.set(m[1]!, Number(m[3]));
  return out;
}

async function allWrites(ids: string[]): Promise<Map<string, Map<string, number>>> {
  return new Map(await Promise.all(ids.map(async (id) => [id, await writesOf(id)] as const)));
}

/** Per cluster, the replicas whose write count grew between two snapshots, with the counts. */
function writers(
  before: Map<string, Map<string, number>>,
  after: Map<string, Map<string, number>>,
): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>(NAMES.map((n) => [n, {}]));
  for (const [id, counts] of after)
    for (const [c, n] of counts) {
      const d = n - (before.get(id)?.get(c) ?? 0);
      if (d > 0) out.get(c)![id] = d;
    }
  return out;
}

/** The holder of every cluster Lease, read from the lease cluster. */
async function leaseHolders(): Promise<Map<string, string>> {
  const leases = await check.clients.get("s01")!.list("coordination.k8s.io/v1", "Lease", {
    namespace: "default",
    labelSelector: "crosslink.dev/shard-group=shard-test,crosslink.dev/shard-lease=cluster",
  });
  return new Map(
    leases.map((l) => [
      l.metadata.name.replace(/^shard-test-cluster-/, ""),
      String((l.spec as { holderIdentity?: string }).holderIdentity ?? ""),
    ]),
  );
}

/**
 * Every cluster owned by exactly one of `ids` (by their /status), each owner's clusters ok and its applied
 * revision `revision`, and the Lease holders agreeing: the owners, by cluster.
 */
async function converged(ids: string[], revision: string): Promise<Map<string, string> | undefined> {
  const statuses = await Promise.all(ids.map(async (id) => [id, await statusOf(id)] as const));
  const owners = new Map<string, string>();
  for (const [id, s] of statuses) {
    if (s.revision.applied !== revision || s.shards?.members.length !== ids.length) return undefined;
    for (const c of s.shards.owned) {
      if (owners.has(c)) return undefined;
      owners.set(c, id);
      if (s.clusters.find((x) => x.name === c)?.state !== "ok") return undefined;
    }
  }
  if (owners.size !== N) return undefined;
  const holders = await leaseHolders();
  for (const [c, id] of owners) if (holders.get(c) !== id) return undefined;
  return owners;
}

/** What each cluster holds: its Link to the next cluster, and the export label on web-svc. */
async function clusterState(): Promise<Map<string, { link: boolean; exported?: string }>> {
  return new Map(
    await Promise.all(
      NAMES.map(async (n, i) => {
        const c = check.clients.get(n)!;
        const links = await c.list("multicluster.linkerd.io/v1alpha3", "Link", { namespace: "linkerd-multicluster" });
        const svc = await c.get({ apiVersion: "v1", kind: "Service", namespace: "emojivoto", name: "web-svc" });
        return [
          n,
          {
            link: links.some((l) => l.metadata.name === NAMES[(i + 1) % N]),
            ...(svc?.metadata.labels?.[EXPORTED] ? { exported: svc.metadata.labels[EXPORTED] } : {}),
          },
        ] as const;
      }),
    ),
  );
}

/** When each replica logged "revision applied" for `revision`, ms after `since` (diagnostics of a slow phase). */
function appliedAt(ids: string[], revision: string, since: number): string {
  return ids
    .map((id) => {
      const line = replicas
        .get(id)!
        .child.lines.find((l) => l.json?.msg === "revision applied" && l.json.revision === revision);
      return `${id}: ${line ? `${line.at - since} ms` : "not logged"}`;
    })
    .join(", ");
}

/**
 * Every term of every replica on each cluster's Lease (from /status; a killed replica's open terms end at the
 * kill): no two replicas' terms overlap on one cluster, so no cluster had writes from two replicas in one term.
 */
function assertTermsDisjoint(terms: (ShardTerm & { replica: string })[]): string {
  const byCluster = new Map<string, (ShardTerm & { replica: string })[]>();
  for (const t of terms) byCluster.set(t.cluster, [...(byCluster.get(t.cluster) ?? []), t]);
  let writing = 0;
  for (const [c, ts] of byCluster) {
    ts.sort((a, b) => a.from.localeCompare(b.from));
    for (let i = 1; i < ts.length; i++) {
      const prev = ts[i - 1]!;
      const cur = ts[i]!;
      assert.ok(
        prev.to !== undefined && prev.to <= cur.from,
        `${c}: ${prev.replica}'s term ${prev.from}..${prev.to ?? "open"} (${prev.writes} writes) overlaps ${cur.replica}'s from ${cur.from} (${cur.writes} writes)`,
      );
    }
    writing += ts.filter((t) => t.writes > 0).length;
  }
  const multi = [...byCluster].filter(
    ([, ts]) => new Set(ts.filter((t) => t.writes > 0).map((t) => t.replica)).size > 1,
  );
  return `${terms.length} terms on ${byCluster.size} cluster Leases, ${writing} with writes, none overlapping; clusters written by more than one replica (in turn): ${multi.map(([c, ts]) => `${c}[${ts.map((t) => `${t.replica}:${t.writes}`).join(" ")}]`).join(" ") || "none"}`;
}

function assertOneWriterEach(phase: string, w: Map<string, Record<string, number>>, owners: Map<string, string>) {
  const table = [...w].map(([c, by]) => `${c}:${JSON.stringify(by)}`).join(" ");
  console.log(`${phase}: writes per cluster per replica: ${table}`);
  for (const [c, by] of w) {
    const ids = Object.keys(by);
    assert.ok(ids.length <= 1, `${phase}: ${c} written by ${ids.join(" and ")}`);
    if (ids.length)
      assert.equal(ids[0], owners.get(c), `${phase}: ${c} written by ${ids[0]}, owned by ${owners.get(c)}`);
  }
}

test("3 replicas with --shards over 12 clusters: one writer per cluster; a killed replica's clusters move within the lease duration", async () => {
  const ids = ["r1", "r2", "r3"];
  const first = repo.commit("start");
  const t0 = Date.now();
  for (const id of ids) start(id);
  let owners = await waitFor("3 replicas converge all 12 clusters", () => converged(ids, first), 180_000, 500);
  const firstMs = Date.now() - t0;
  const state1 = await clusterState();
  assert.ok(
    [...state1.values()].every((s) => s.link),
    `every cluster holds its Link: ${JSON.stringify([...state1])}`,
  );
  const startup = await allWrites(ids);
  const tokens = await Promise.all(ids.map(async (id) => [id, Object.fromEntries(await writesOf(id, "false"))]));
  console.log(
    `startup: all ${N} converged in ${firstMs} ms; owners ${JSON.stringify(Object.fromEntries(owners))}; writes to held clusters since start (membership still forming) ${JSON.stringify(Object.fromEntries([...startup].map(([id, m]) => [id, Object.fromEntries(m)])))}; TokenRequests to link targets held by another replica ${JSON.stringify(Object.fromEntries(tokens))}`,
  );

  // A commit touching every cluster (an export label on each), under stable membership.
  const t1 = Date.now();
  repo.writeTopology(topologyText("gateway"));
  const second = repo.commit("export web-svc in every cluster");
  owners = await waitFor("every cluster exports web-svc", () => converged(ids, second), 120_000, 500);
  const state2 = await clusterState();
  assert.ok(
    [...state2.values()].every((s) => s.exported === "true"),
    JSON.stringify([...state2]),
  );
  console.log(
    `commit 2 converged on all ${N} in ${Date.now() - t1} ms (revision applied: ${appliedAt(ids, second, t1)})`,
  );
  const afterSecond = await allWrites(ids);
  const w2 = writers(startup, afterSecond);
  assertOneWriterEach("commit 2 (3 replicas)", w2, owners);
  assert.ok(
    [...w2.values()].every((by) => Object.keys(by).length === 1),
    "every cluster was written (its label)",
  );

  // SIGKILL the replica holding the most clusters.
  const counts = ids.map((id) => [id, [...owners.values()].filter((o) => o === id).length] as const);
  const victim = counts.sort((a, b) => b[1] - a[1])[0]![0];
  const moved = [...owners].filter(([, o]) => o === victim).map(([c]) => c);
  const rest = ids.filter((id) => id !== victim);
  const victimTerms = (await statusOf(victim)).shards!.terms;
  const tKill = Date.now();
  replicas.get(victim)!.child.child.kill("SIGKILL");
  await replicas.get(victim)!.child.exited;
  const beforeHandover = await allWrites(rest);
  const after2 = await waitFor(
    `the other replicas take over ${victim}'s ${moved.length} clusters`,
    () => converged(rest, second),
    LEASE_MS * 3 + 30_000,
    200,
  );
  const handoverMs = Date.now() - tKill;
  const bound = 2 * LEASE_MS + 10_000;
  console.log(
    `handover: ${victim} (${moved.length} clusters: ${moved.join(",")}) SIGKILLed; all taken over and ok after ${handoverMs} ms (lease duration ${LEASE_MS} ms, bound lease + ${bound - LEASE_MS} ms); new owners ${JSON.stringify(Object.fromEntries(moved.map((c) => [c, after2.get(c)])))}`,
  );
  assert.ok(handoverMs <= bound, `handover ${handoverMs} ms > ${bound} ms`);
  for (const [c, o] of owners) if (o !== victim) assert.equal(after2.get(c), o, `${c} stayed with its live owner`);
  assertOneWriterEach("handover (2 replicas)", writers(beforeHandover, await allWrites(rest)), after2);

  // A new commit after the kill converges all 12 under the other two.
  const t2 = Date.now();
  repo.writeTopology(topologyText("remote-discovery"));
  const third = repo.commit("export mode remote-discovery");
  const before3 = await allWrites(rest);
  const owners3 = await waitFor("the 2 replicas converge commit 3", () => converged(rest, third), 120_000, 500);
  const state3 = await clusterState();
  assert.ok(
    [...state3.values()].every((s) => s.exported === "remote-discovery"),
    JSON.stringify([...state3]),
  );
  console.log(
    `commit 3 (after the kill) converged on all ${N} in ${Date.now() - t2} ms (revision applied: ${appliedAt(rest, third, t2)})`,
  );
  const w3 = writers(before3, await allWrites(rest));
  assertOneWriterEach("commit 3 (2 replicas)", w3, owners3);
  assert.ok(
    [...w3.values()].every((by) => Object.keys(by).length === 1),
    "every cluster was written (its label)",
  );

  // Every term of the run, startup included: none overlaps another replica's on the same cluster.
  const killedAt = new Date(tKill).toISOString();
  const terms = [
    ...victimTerms.map((t) => ({ ...t, to: t.to ?? killedAt, replica: victim })),
    ...(
      await Promise.all(rest.map(async (id) => (await statusOf(id)).shards!.terms.map((t) => ({ ...t, replica: id }))))
    ).flat(),
  ];
  console.log(`terms: ${assertTermsDisjoint(terms)}`);

  // Handovers were logged.
  const logged = rest.flatMap((id) => replicas.get(id)!.child.lines.filter((l) => l.json?.msg === "shards: handover"));
  assert.ok(logged.length >= moved.length, `handover log lines: ${logged.length}`);
  await pause(0);
});
