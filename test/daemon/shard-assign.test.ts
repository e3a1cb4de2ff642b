/** Sharding's pure core: rendezvous assignment (stable, balanced, minimal movement) and Lease liveness. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LeaseLiveness, assignClusters, handovers, leaseNamePart, ownerOf } from "../../src/daemon/shard-assign.js";

const clusters = Array.from({ length: 300 }, (_, i) => `cluster-${i}`);

test("assignment: every cluster to one member, the same whatever the order of members, roughly balanced", () => {
  const a = assignClusters(clusters, ["r1", "r2", "r3"]);
  const b = assignClusters(clusters, ["r3", "r1", "r2"]);
  assert.deepEqual([...a], [...b]);
  assert.equal(a.size, clusters.length);
  const counts = new Map<string, number>();
  for (const m of a.values()) counts.set(m, (counts.get(m) ?? 0) + 1);
  for (const m of ["r1", "r2", "r3"]) assert.ok((counts.get(m) ?? 0) > 60, `r${m}: ${counts.get(m)} of 300`);
  assert.equal(ownerOf("x", []), undefined);
  assert.equal(assignClusters(["x"], []).size, 0);
});

test("assignment: a member leaving moves only its clusters; one joining takes clusters only to itself", () => {
  const three = assignClusters(clusters, ["r1", "r2", "r3"]);
  const two = assignClusters(clusters, ["r1", "r3"]);
  const moved = handovers(three, two);
  assert.ok(moved.size > 0);
  for (const [c, [from, to]] of moved) {
    assert.equal(from, "r2", `${c} moved from ${from}`);
    assert.notEqual(to, "r2");
  }
  for (const [c, m] of three) if (m !== "r2") assert.equal(two.get(c), m);
  const four = assignClusters(clusters, ["r1", "r2", "r3", "r4"]);
  for (const [, [, to]] of handovers(three, four)) assert.equal(to, "r4");
});

test("liveness: live while the record changes within its duration (local clock), gone when released or deleted", () => {
  const l = new LeaseLiveness();
  const rec = (identity: string, key: string) => ({ identity, key, leaseDurationMs: 3_000 });
  assert.deepEqual(l.observe([rec("a", "1"), rec("b", "1")], 0), ["a", "b"]);
  assert.deepEqual(l.observe([rec("a", "2"), rec("b", "1")], 2_000), ["a", "b"]);
  assert.deepEqual(l.observe([rec("a", "3"), rec("b", "1")], 3_001), ["a"], "b unchanged for 3.001 s");
  assert.equal(l.since("b")?.at, 0);
  assert.deepEqual(l.observe([rec("a", "3"), rec("b", "2")], 3_500), ["a", "b"], "b renewed again");
  assert.deepEqual(l.observe([rec("a", "3"), rec("", "3")], 4_000), ["a"], "released: no holder");
  assert.deepEqual(l.observe([], 4_100), []);
  assert.equal(l.since("a"), undefined);
});

test("lease name parts: DNS-1123, bounded, distinct for distinct texts", () => {
  assert.equal(leaseNamePart("replica-1"), "replica-1");
  const a = leaseNamePart("Host.Example_COM-1234");
  assert.match(a, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  assert.notEqual(a, leaseNamePart("host.example.com-1234"));
  const long = leaseNamePart("x".repeat(100));
  assert.ok(long.length <= 40);
});
