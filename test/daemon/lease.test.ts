/**
 * The Lease elector's fencing, without a server: an in-memory Lease store
 * with resourceVersion checks and a hand-moved clock. The holder stops
 * counting as leader at the renew deadline (before any follower may take
 * over), a renewal answered too late does not count, and the term's signal
 * aborts when leadership ends.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LeaseElector, leaseTimings, type LeaseClient } from "../../src/daemon/lease.js";
import { createLogger } from "../../src/daemon/log.js";
import { KubeError } from "../../src/kube/errors.js";
import type { KubeObject } from "../../src/kube/object.js";

/** One Lease in memory; `onWrite` runs before each write (to move the clock or fail). */
function store(onWrite: () => void = () => {}) {
  let lease: KubeObject | undefined;
  let rv = 0;
  const client: LeaseClient = {
    get: async () => (lease ? structuredClone(lease) : undefined),
    apply: async (obj) => {
      onWrite();
      if (lease) throw new KubeError("KUBE_APPLY_CONFLICT", "exists", "lease");
      lease = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
      return structuredClone(lease);
    },
    update: async (obj) => {
      onWrite();
      if (obj.metadata.resourceVersion !== lease?.metadata.resourceVersion)
        throw new KubeError("KUBE_CONFLICT", "changed", "lease");
      lease = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
      return structuredClone(lease);
    },
    patch: async () => structuredClone(lease!),
  };
  return { client, holder: () => (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity };
}

const log = createLogger("silent");
const opts = (identity: string) => ({ namespace: "ns", name: "l", identity, ...leaseTimings(3_000) });

test("lease timings: renew deadline shorter than the lease, as client-go's proportions", () => {
  assert.deepEqual(leaseTimings(15_000), { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, renewMs: 3_000 });
  assert.throws(
    () => new LeaseElector(store().client, { ...opts("a"), renewDeadlineMs: 3_000 }, { now: () => new Date() }, log),
  );
});

test("the holder stops at the renew deadline, before a follower can take over; the term's signal aborts", async () => {
  let t = 1_000_000;
  const clock = { now: () => new Date(t) };
  const s = store();
  const a = new LeaseElector(s.client, opts("a"), clock, log);
  const b = new LeaseElector(s.client, opts("b"), clock, log);
  assert.equal(await a.tryOnce(), true);
  const term = a.writeSignal();
  assert.equal(term.aborted, false);
  assert.equal(await b.tryOnce(), false, "b observes a's record");
  t += 1_999;
  assert.equal(a.isLeader(), true);
  t += 1;
  assert.equal(a.isLeader(), false, "no writes from the renew deadline (2 s) on");
  assert.equal(await b.tryOnce(), false, "b may not take over yet: the lease (3 s) has not expired for it");
  t += 1_001;
  assert.equal(await b.tryOnce(), true, "b takes over after the full lease duration");
  // a, resumed, learns it lost: its term is over.
  assert.equal(await a.tryOnce(), false);
  assert.equal(term.aborted, true);
  assert.match(String((term.reason as Error).message), /lease lost/);
  assert.equal(s.holder(), "b");
  await a.stop();
  await b.stop();
});

test("a renewal answered after the renew deadline does not count", async () => {
  let t = 0;
  let slow = false;
  const clock = { now: () => new Date(t) };
  const s = store(() => {
    if (slow) t += 2_500; // the write is answered 2.5 s after the attempt started
  });
  const a = new LeaseElector(s.client, opts("a"), clock, log);
  assert.equal(await a.tryOnce(), true);
  const term = a.writeSignal();
  t += 500;
  slow = true;
  assert.equal(await a.tryOnce(), false, "late renewal: not leader");
  assert.equal(a.isLeader(), false);
  assert.equal(term.aborted, true);
  await a.stop();
});

test("an unreachable lease cluster ends the term at the deadline", async () => {
  let t = 0;
  let down = false;
  const clock = { now: () => new Date(t) };
  const s = store(() => {
    if (down) throw new KubeError("KUBE_UNREACHABLE", "down", "lease");
  });
  const a = new LeaseElector(s.client, opts("a"), clock, log);
  assert.equal(await a.tryOnce(), true);
  const term = a.writeSignal();
  down = true;
  t += 1_000;
  assert.equal(await a.tryOnce(), true, "within the deadline the holder still leads");
  assert.equal(term.aborted, false);
  t += 1_000;
  assert.equal(await a.tryOnce(), false);
  assert.equal(term.aborted, true);
  down = false;
  await a.stop();
});
