/**
 * The podinfo-split example: links both ways, an export and a 50/50 split as a
 * Gateway API HTTPRoute; one weight change is one update; the same split as a
 * Linkerd HTTPRoute or an SMI TrafficSplit.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { applyOnce, exampleTopology, useClusters } from "./support.js";

const fx = useClusters(["workload1", "workload2"], "podinfo-split");

const route = (apiVersion: string, kind = "HTTPRoute") =>
  fx.acc.clients.get("workload1")!.get({ apiVersion, kind, namespace: "test", name: "podinfo-split" });

test("apply links both ways, exports podinfo and splits it 50/50 with a Gateway API HTTPRoute", async () => {
  const topology = await exampleTopology("podinfo-split", fx.clusters.trustAnchorPem);
  const r = await applyOnce(topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes.clusters),
  );
  for (const [from, to] of [
    ["workload1", "workload2"],
    ["workload2", "workload1"],
  ] as const) {
    const link = await fx.acc.clients.get(from)!.get({
      apiVersion: "multicluster.linkerd.io/v1alpha3",
      kind: "Link",
      namespace: "linkerd-multicluster",
      name: to,
    });
    assert.ok(link, `Link ${to} in ${from}`);
  }
  const svc = await fx.acc.clients
    .get("workload2")!
    .get({ apiVersion: "v1", kind: "Service", namespace: "test", name: "podinfo" });
  assert.equal(svc!.metadata.labels!["mirror.linkerd.io/exported"], "true");
  const hr = await route("gateway.networking.k8s.io/v1");
  const spec = hr!.spec as {
    parentRefs: Record<string, unknown>[];
    rules: { backendRefs: Record<string, unknown>[] }[];
  };
  assert.deepEqual(
    spec.parentRefs.map((p) => [p.name, p.kind, p.group, p.port]),
    [["podinfo", "Service", "core", 9898]],
  );
  assert.deepEqual(
    spec.rules[0]!.backendRefs.map((b) => [b.name, b.port, b.weight]),
    [
      ["podinfo", 9898, 50],
      ["podinfo-workload2", 9898, 50],
    ],
  );
  assert.equal((await applyOnce(topology, fx.acc)).writes, 0);
});

test("changing one weight is one update and one write", async () => {
  const topology = await exampleTopology("podinfo-split", fx.clusters.trustAnchorPem, (d) => {
    d.setIn(["spec", "splits", 0, "backends", 0, "weight"], 90);
    d.setIn(["spec", "splits", 0, "backends", 1, "weight"], 10);
  });
  const r = await applyOnce(topology, fx.acc);
  const actions = r.plan.clusters.flatMap((c) => c.actions);
  assert.equal(actions.length, 1, JSON.stringify(actions));
  assert.equal(actions[0]!.type, "update");
  assert.equal(r.writes, 1);
  const hr = await route("gateway.networking.k8s.io/v1");
  const weights = (hr!.spec as { rules: { backendRefs: { weight: number }[] }[] }).rules[0]!.backendRefs.map(
    (b) => b.weight,
  );
  assert.deepEqual(weights, [90, 10]);
});

test("api: smi renders an SMI TrafficSplit and prunes the HTTPRoute", async () => {
  const topology = await exampleTopology("podinfo-split", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "splits", 0, "api"], "smi"),
  );
  const r = await applyOnce(topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes.clusters),
  );
  const ts = await route("split.smi-spec.io/v1alpha2", "TrafficSplit");
  assert.deepEqual((ts!.spec as { service: string; backends: unknown[] }).backends, [
    { service: "podinfo", weight: 50 },
    { service: "podinfo-workload2", weight: 50 },
  ]);
  assert.equal(await route("gateway.networking.k8s.io/v1"), undefined);
});

test("api: linkerd renders a policy.linkerd.io HTTPRoute", async () => {
  const topology = await exampleTopology("podinfo-split", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "splits", 0, "api"], "linkerd"),
  );
  const r = await applyOnce(topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes.clusters),
  );
  assert.ok(await route("policy.linkerd.io/v1beta3"));
  assert.equal(await route("split.smi-spec.io/v1alpha2", "TrafficSplit"), undefined);
});

test("a hand edit of an owned route (kubectl edit) is reverted by the next apply", async () => {
  const client = fx.acc.clients.get("workload1")!;
  const topology = await exampleTopology("podinfo-split", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "splits", 0, "api"], "gateway"),
  );
  await applyOnce(topology, fx.acc);
  const live = await route("gateway.networking.k8s.io/v1");
  const spec = live!.spec as { rules: { backendRefs: { weight: number }[] }[] };
  spec.rules[0]!.backendRefs[0]!.weight = 1;
  // A merge patch as another field manager, like `kubectl edit` does: the field changes owner.
  await client.patch(
    { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", namespace: "test", name: "podinfo-split" },
    { spec: { rules: spec.rules } },
    { fieldManager: "kubectl-edit" },
  );
  const r = await applyOnce(topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes.clusters.map((c) => c.results.map((x) => x.error))),
  );
  const after = await route("gateway.networking.k8s.io/v1");
  const weights = (after!.spec as { rules: { backendRefs: { weight: number }[] }[] }).rules[0]!.backendRefs.map(
    (b) => b.weight,
  );
  assert.deepEqual(weights, [50, 50]);
});
