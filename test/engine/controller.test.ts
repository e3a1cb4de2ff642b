/**
 * The managed mirror controller's ownership and image rules on clusters where
 * the chart's shared ClusterRole is missing: crosslink creates it, migrates
 * its older per-link role, prunes it with the last managed link; without a
 * readable Linkerd version it reports XL608 and keeps the controller as it is,
 * and a link's `controllerImage` wins.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../src/kube/object.js";
import { actionRef } from "../../src/engine/plan/actions.js";
import { applyOnce, exampleTopology, useClusters } from "./support.js";

const fx = useClusters(["east", "west"], "east-west", () => ({
  seed: { controllerRole: false, linkerdVersion: "edge-26.8.3" },
}));
const RBAC = "rbac.authorization.k8s.io/v1";
const SHARED = "linkerd-multicluster-controller-access-local-resources";
const owner = {
  "app.kubernetes.io/managed-by": "crosslink",
  "crosslink.dev/topology": "east-west",
  "crosslink.dev/link": "west.east",
};
const west = () => fx.acc.clients.get("west")!;
const get = (apiVersion: string, kind: string, name: string, namespace?: string) =>
  west().get({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });
const image = async () =>
  (
    (await get("apps/v1", "Deployment", "controller-east", "linkerd-multicluster"))!.spec as {
      template: { spec: { containers: { image: string }[] } };
    }
  ).template.spec.containers[0]!.image;

test("crosslink creates the shared controller role where the chart has not, and replaces its older per-link role", async () => {
  // What crosslink rendered before it followed the chart: a ClusterRole per link and a binding to it.
  const old = `${SHARED}-east`;
  await west().apply(
    { apiVersion: RBAC, kind: "ClusterRole", metadata: { name: old, labels: owner }, rules: [] } as KubeObject,
    { fieldManager: "crosslink" },
  );
  await west().apply(
    {
      apiVersion: RBAC,
      kind: "ClusterRoleBinding",
      metadata: { name: old, labels: owner },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: old },
      subjects: [{ kind: "ServiceAccount", name: "controller-east", namespace: "linkerd-multicluster" }],
    } as KubeObject,
    { fieldManager: "crosslink" },
  );

  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem);
  const r = await applyOnce(topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes),
  );
  const shared = await get(RBAC, "ClusterRole", SHARED);
  assert.equal(shared!.metadata.labels!["app.kubernetes.io/managed-by"], "crosslink");
  assert.equal(shared!.metadata.labels!["linkerd.io/extension"], "multicluster");
  const binding = await get(RBAC, "ClusterRoleBinding", old);
  assert.equal((binding!.roleRef as { name: string }).name, SHARED, "binding replaced (roleRef is immutable)");
  assert.equal(await get(RBAC, "ClusterRole", old), undefined, "the per-link role is pruned");
  assert.equal(await image(), "cr.l5d.io/linkerd/controller:edge-26.8.3");
  assert.equal((await applyOnce(topology, fx.acc)).writes, 0);
});

test("without a readable Linkerd version: XL608, controller kept; a link's controllerImage wins", async () => {
  const config = (await get("v1", "ConfigMap", "linkerd-config", "linkerd"))!;
  const values = String((config.data as Record<string, string>).values);
  const patched = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "linkerd-config", namespace: "linkerd" },
    data: { values: values.replace(/^linkerdVersion:.*$/m, "") },
  };
  await west().apply(patched as KubeObject, { fieldManager: "linkerd-harness", force: true });
  try {
    const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem);
    const r = await applyOnce(topology, fx.acc);
    const wc = r.plan.clusters.find((c) => c.cluster === "west")!;
    const f = wc.findings.find((x) => x.code === "XL608");
    assert.ok(f, JSON.stringify(wc.findings));
    assert.match(f.message, /linkerdVersion/);
    assert.ok(
      !wc.actions.some((a) => ["Deployment", "ClusterRoleBinding"].includes(actionRef(a).kind)),
      JSON.stringify(wc.actions),
    );
    assert.equal(await image(), "cr.l5d.io/linkerd/controller:edge-26.8.3", "the controller is left as it was");

    const pinned = await exampleTopology("east-west", fx.clusters.trustAnchorPem, (d) =>
      d.setIn(["spec", "links", 0, "controllerImage"], "registry.example/linkerd/controller:edge-26.8.3"),
    );
    const p = await applyOnce(pinned, fx.acc);
    assert.ok(!p.plan.clusters.find((c) => c.cluster === "west")!.findings.some((x) => x.code === "XL608"));
    assert.equal(await image(), "registry.example/linkerd/controller:edge-26.8.3");
  } finally {
    await west().apply({ ...patched, data: { values } } as KubeObject, {
      fieldManager: "linkerd-harness",
      force: true,
    });
  }
});

test("the shared role crosslink created goes with the last managed link", async () => {
  const external = await exampleTopology("east-west", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "links", 0, "controller"], "external"),
  );
  // No flag: the prune guard explains every deletion (the controller's by `controller: external`, the shared role by no managed link left).
  const r = await applyOnce(external, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes),
  );
  assert.equal(await get(RBAC, "ClusterRole", SHARED), undefined);
  assert.equal(await get(RBAC, "ClusterRoleBinding", `${SHARED}-east`), undefined);
  assert.equal(await get("apps/v1", "Deployment", "controller-east", "linkerd-multicluster"), undefined);
});
