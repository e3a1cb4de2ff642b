/**
 * The shard coordinator without a server: an in-memory Lease store (resourceVersion checks, label
 * selectors) and a hand-moved clock. Two members split the clusters as the pure assignment says, each
 * holding exactly its clusters' Leases; when one dies (its calls fail), the other sees its member
 * Lease unchanged for the lease duration and takes its clusters at once (it had seen their Leases
 * unchanged as long), and no cluster is held by both at any checkpoint.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../../src/daemon/log.js";
import { ownerOf } from "../../src/daemon/shard-assign.js";
import { ShardCoordinator, type ShardLeaseClient } from "../../src/daemon/shards.js";
import { KubeError } from "../../src/kube/errors.js";
import type { KubeObject } from "../../src/kube/object.js";

function leaseStore() {
  const leases = new Map<string, KubeObject>();
  let rv = 0;
  const put = (obj: KubeObject) => {
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
    leases.set(obj.metadata.name, stored);
    return structuredClone(stored);
  };
  /** A client of the store; throws on every call once `dead()` says so. */
  const client = (dead: () => boolean): ShardLeaseClient => {
    const alive = () => {
      if (dead()) throw new KubeError("KUBE_UNREACHABLE", "dead", "lease");
    };
    return {
      get: async (ref) => (alive(), leases.has(ref.name) ? structuredClone(leases.get(ref.name)!) : undefined),
      apply: async (obj, opts) => {
        alive();
        const cur = leases.get(obj.metadata.name);
        // Server-side apply: a member renews its own Lease (force); creating an existing Lease conflicts.
        if (cur && !opts?.force) throw new KubeError("KUBE_APPLY_CONFLICT", "exists", "lease");
        return put({ ...cur, ...obj, metadata: { ...cur?.metadata, ...obj.metadata } });
      },
      update: async (obj) => {
        alive();
        if (obj.metadata.resourceVersion !== leases.get(obj.metadata.name)?.metadata.resourceVersion)
          throw new KubeError("KUBE_CONFLICT", "changed", "lease");
        return put(obj);
      },
      patch: async (ref) => (alive(), structuredClone(leases.get(ref.name)!)),
      list: async (_v, _k, opts) => {
        alive();
        const want = (opts?.labelSelector ?? "")
          .split(",")
          .filter(Boolean)
          .map((p) => p.split("="));
        return [...leases.values()]
          .filter((l) => want.every(([k, v]) => l.metadata.labels?.[k!] === v))
          .map((l) => structuredClone(l));
      },
    };
  };
  const holder = (name: string) => (leases.get(name)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  return { client, holder };
}

/** a's renewals (its electors renew every 600 ms of real time; the test's clock is moved by hand). */
const renew = (c: ShardCoordinator, clusters: string[]) => Promise.all(clusters.map((n) => c.elector(n)?.tryOnce()));

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

test("two members split the clusters by rendezvous hashing; a dead member's clusters move after the lease duration", async () => {
  let t = 1_000_000;
  const clock = { now: () => new Date(t) };
  const store = leaseStore();
  let bDead = false;
  const log = createLogger("silent");
  const opts = (identity: string) => ({ namespace: "ns", group: "g", identity, leaseDurationMs: 3_000 });
  const a = new ShardCoordinator(
    store.client(() => false),
    opts("a"),
    clock,
    log,
  );
  const b = new ShardCoordinator(
    store.client(() => bDead),
    opts("b"),
    clock,
    log,
  );
  const clusters = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"];
  try {
    await a.round();
    await b.round();
    await a.round();
    assert.deepEqual(a.status().members, ["a", "b"]);
    assert.deepEqual(b.status().members, ["a", "b"]);
    a.track(clusters);
    b.track(clusters);
    await settle();
    for (const c of clusters) {
      const owner = ownerOf(c, ["a", "b"]);
      assert.equal(a.owns(c), owner === "a", `${c}: a`);
      assert.equal(b.owns(c), owner === "b", `${c}: b`);
      assert.equal(store.holder(a.clusterLease(c)), owner);
    }
    const bHad = clusters.filter((c) => b.owns(c));
    assert.ok(bHad.length > 0 && bHad.length < clusters.length, `b holds ${bHad.join(",")}`);
    await a.round(); // a sees b's cluster Leases

    bDead = true;
    t += 1_500;
    await renew(a, clusters);
    t += 500;
    await a.round();
    await settle();
    assert.deepEqual(a.status().members, ["a", "b"], "b not yet expired for a");
    for (const c of bHad) assert.equal(a.owns(c), false, `${c} not taken before the lease duration`);
    for (const c of bHad) assert.equal(b.owns(c), false, `${c}: b past its renew deadline (2 s) writes no more`);

    t += 1_000;
    await renew(a, clusters);
    t += 100;
    await a.round();
    await settle();
    assert.deepEqual(a.status().members, ["a"]);
    for (const c of clusters) {
      assert.equal(a.owns(c), true, `${c} held by a`);
      assert.equal(b.owns(c), false);
      assert.equal(store.holder(a.clusterLease(c)), "a");
    }
  } finally {
    bDead = false;
    await a.stop();
    await b.stop();
  }
  for (const c of clusters) assert.equal(store.holder(a.clusterLease(c)), "", `${c} released on stop`);
});
