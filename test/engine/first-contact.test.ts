/**
 * First contact and the kinds record against real API servers (east-west). A cluster with no record and nothing of
 * crosslink's is read as a no-op reads it: the kinds the topology can render, no other kind, no credential LIST.
 * A link-credential Secret left in the Linkerd namespace without its Link stops that first apply at the Secret (a
 * field-manager conflict, nothing else of the cluster written after it), and the next apply, which finds the record,
 * adopts it. A record deleted by hand where crosslink owns other objects gets every kind listed again: an owned
 * object of a kind the record does not name is found, held by the prune guard, and pruned with its override.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { kindsRecordName } from "../../src/engine/kinds-record.js";
import type { ClusterAccess } from "../../src/kube/access.js";
import { ownerLabels } from "../../src/engine/names.js";
import { actionIds, clusterPlan } from "../unit/engine/mesh.js";
import { applyOnce, exampleTopology, useClusters } from "./support.js";

const fx = useClusters(["east", "west"], "east-west", () => ({ seed: true }));
const ORPHAN = "cluster-credentials-east";

/** GET requests (reads) of each cluster's client while `fn` runs. */
async function readsOf<T>(acc: ClusterAccess, fn: () => Promise<T>): Promise<{ value: T; reads: Map<string, number> }> {
  const gets = () => new Map([...acc.clients].map(([n, c]) => [n, c.counters.byVerb.GET ?? 0]));
  const before = gets();
  const value = await fn();
  const reads = new Map([...gets()].map(([n, g]) => [n, g - before.get(n)!]));
  return { value, reads };
}

test("first contact reads what a no-op reads; an orphan credential Secret stops it, the next apply adopts it", async () => {
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem);
  const west = fx.acc.clients.get("west")!;
  // What a half-removed `link | kubectl apply` leaves: the Linkerd-namespace credentials, without their Link.
  await west.apply(
    {
      apiVersion: "v1",
      kind: "Secret",
      type: "mirror.linkerd.io/remote-kubeconfig",
      metadata: { name: ORPHAN, namespace: "linkerd" },
      data: { kubeconfig: Buffer.from("stale").toString("base64") },
    },
    { fieldManager: "kubectl" },
  );

  // Discovery is cached for the comparison below, as the no-op has it.
  for (const c of fx.acc.clients.values()) await c.discovery();
  const first = await readsOf(fx.acc, () => applyOnce(topology, fx.acc));
  const east = first.value.changes.clusters.find((c) => c.cluster === "east")!;
  const westChanges = first.value.changes.clusters.find((c) => c.cluster === "west")!;
  assert.ok(east.converged, east.error);
  assert.ok(!westChanges.converged, "west stops at the orphan");
  const failed = westChanges.results.filter((r) => r.status === "failed");
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.match(failed[0]!.error ?? "", /conflict/i);
  assert.match(failed[0]!.error ?? "", new RegExp(ORPHAN));
  const live = await west.get({ apiVersion: "v1", kind: "Secret", namespace: "linkerd", name: ORPHAN });
  assert.equal(Buffer.from(String((live?.data as Record<string, string>).kubeconfig), "base64").toString(), "stale");
  const record = await west.get({
    apiVersion: "v1",
    kind: "Secret",
    namespace: "linkerd",
    name: kindsRecordName(topology.name),
  });
  assert.ok(record, "the record is written before anything else");

  const second = await applyOnce(topology, fx.acc);
  const westPlan = actionIds(clusterPlan(second.plan, "west"));
  assert.ok(
    westPlan.some((id) => id.endsWith(`Secret linkerd/${ORPHAN}`)),
    `the next apply takes over the orphan: ${westPlan.join(", ")}`,
  );
  assert.ok(
    second.changes.clusters.every((c) => c.converged),
    JSON.stringify(second.changes.clusters.map((c) => c.error)),
  );

  const noop = await readsOf(fx.acc, () => applyOnce(topology, fx.acc));
  assert.equal(noop.value.writes, 0);
  // east was a first contact throughout: its first apply read exactly what its no-op reads (before, it also listed
  // every other managed kind: Roles, RoleBindings, Deployments and the three split kinds).
  assert.equal(first.reads.get("east"), noop.reads.get("east"), "east: first-apply reads = no-op reads");
  assert.ok(noop.reads.get("east")! <= 12 && noop.reads.get("west")! <= 12, JSON.stringify([...noop.reads]));
});

test("a record deleted by hand where crosslink owns other objects: every kind is listed, an unrecorded one pruned", async () => {
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem);
  const west = fx.acc.clients.get("west")!;
  // An owned TrafficSplit, a kind the record does not name (east-west has no split).
  await west.apply(
    {
      apiVersion: "split.smi-spec.io/v1alpha2",
      kind: "TrafficSplit",
      metadata: { name: "left-behind", namespace: "linkerd-multicluster", labels: ownerLabels(topology.name) },
      spec: { service: "web-svc", backends: [{ service: "web-svc", weight: 100 }] },
    },
    { fieldManager: "crosslink" },
  );
  const kept = await applyOnce(topology, fx.acc);
  assert.ok(!actionIds(clusterPlan(kept.plan, "west")).some((id) => id.includes("left-behind")), "not recorded");

  await west.delete({ apiVersion: "v1", kind: "Secret", namespace: "linkerd", name: kindsRecordName(topology.name) });
  const found = await applyOnce(topology, fx.acc);
  const ids = actionIds(clusterPlan(found.plan, "west"));
  assert.ok(ids.includes("delete TrafficSplit linkerd-multicluster/left-behind"), ids.join(", "));
  assert.ok(ids.includes(`create Secret linkerd/${kindsRecordName(topology.name)}`), ids.join(", "));
  // The prune guard holds back a deletion no topology change explains (decision 9); its override lets it through.
  assert.match(found.changes.clusters.find((c) => c.cluster === "west")!.error ?? "", /blocked: 1 deletion/);
  const pruned = await applyOnce(topology, fx.acc, { allowMassPrune: true });
  assert.ok(
    pruned.changes.clusters.every((c) => c.converged),
    JSON.stringify(pruned.changes.clusters.map((c) => c.error)),
  );
  const gone = await west.get({
    apiVersion: "split.smi-spec.io/v1alpha2",
    kind: "TrafficSplit",
    namespace: "linkerd-multicluster",
    name: "left-behind",
  });
  assert.equal(gone, undefined);
  const after = await applyOnce(topology, fx.acc);
  assert.equal(after.writes, 0);
});
