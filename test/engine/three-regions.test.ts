/**
 * The three-regions example (full mesh, federated and remote-discovery
 * exports); then one cluster hung (SIGSTOP: connections open, no answers) and
 * one cluster stopped: the others still converge, the run is not a success
 * and the report names the failed cluster.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderChangeSetHuman, renderPlanHuman } from "../../src/report/human.js";
import { applyOnce, exampleTopology, useClusters } from "./support.js";

const NAMES = ["us-east", "eu-west", "ap-south"];
const fx = useClusters(NAMES, "three-regions");

test("apply creates six Links and the export labels of each mode", async () => {
  const topology = await exampleTopology("three-regions", fx.clusters.trustAnchorPem);
  const r = await applyOnce(topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    renderChangeSetHuman(r.changes),
  );
  for (const from of NAMES) {
    const links = await fx.acc.clients
      .get(from)!
      .list("multicluster.linkerd.io/v1alpha3", "Link", { namespace: "linkerd-multicluster" });
    assert.deepEqual(links.map((l) => l.metadata.name).sort(), NAMES.filter((n) => n !== from).sort());
  }
  for (const e of topology.exports) {
    const key = e.mode === "federated" ? "mirror.linkerd.io/federated" : "mirror.linkerd.io/exported";
    const value = e.mode === "federated" ? "member" : e.mode === "gateway" ? "true" : "remote-discovery";
    for (const name of e.services) {
      const svc = await fx.acc.clients
        .get(e.cluster)!
        .get({ apiVersion: "v1", kind: "Service", namespace: e.namespace, name });
      if (!svc) continue; // reported in the plan as missing
      assert.equal(svc.metadata.labels?.[key], value, `${e.cluster}/${e.namespace}/${name}`);
    }
  }
  assert.equal((await applyOnce(topology, fx.acc)).writes, 0);
});

test("a hung API server costs the others only its request timeout", async () => {
  const hung = fx.clusters.clusters.find((c) => c.name === "eu-west")!;
  process.kill(hung.pid, "SIGSTOP");
  try {
    const topology = await exampleTopology("three-regions", fx.clusters.trustAnchorPem, (d) =>
      d.setIn(["spec", "links", 1, "excludedAnnotations"], ["internal.example.com/*"]),
    );
    const started = Date.now();
    const r = await applyOnce(topology, fx.acc);
    const seconds = (Date.now() - started) / 1000;
    const byName = new Map(r.changes.clusters.map((c) => [c.cluster, c]));
    assert.equal(byName.get("eu-west")!.converged, false);
    assert.match(r.plan.clusters.find((c) => c.cluster === "eu-west")!.error ?? "", /no answer/);
    assert.ok(byName.get("us-east")!.converged && byName.get("ap-south")!.converged, renderChangeSetHuman(r.changes));
    const link = await fx.acc.clients.get("us-east")!.get({
      apiVersion: "multicluster.linkerd.io/v1alpha3",
      kind: "Link",
      namespace: "linkerd-multicluster",
      name: "ap-south",
    });
    assert.deepEqual((link!.spec as { excludedAnnotations?: string[] }).excludedAnnotations, [
      "internal.example.com/*",
    ]);
    // The test client's policy is 2 attempts of 5 s each: the run is bounded by that, not by the hung server.
    assert.ok(seconds < 30, `took ${seconds}s`);
  } finally {
    process.kill(hung.pid, "SIGCONT");
  }
  const again = await applyOnce(
    await exampleTopology("three-regions", fx.clusters.trustAnchorPem, (d) =>
      d.setIn(["spec", "links", 1, "excludedAnnotations"], ["internal.example.com/*"]),
    ),
    fx.acc,
  );
  assert.ok(
    again.changes.clusters.every((c) => c.converged),
    renderChangeSetHuman(again.changes),
  );
});

test("with one cluster stopped the others converge and the failure names it", async () => {
  const stopped = fx.clusters.clusters.find((c) => c.name === "ap-south")!;
  process.kill(stopped.pid, "SIGKILL");
  await new Promise((r) => setTimeout(r, 300));
  const topology = await exampleTopology("three-regions", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "links", 0, "excludedLabels"], ["internal.example.com/*"]),
  );
  const r = await applyOnce(topology, fx.acc);
  const byName = new Map(r.changes.clusters.map((c) => [c.cluster, c]));
  assert.equal(byName.get("ap-south")!.converged, false);
  assert.match(renderPlanHuman(r.plan), /cluster ap-south: UNREACHABLE/);
  assert.match(renderChangeSetHuman(r.changes), /Not converged: ap-south\./);
  const changed = r.plan.clusters.filter((c) => c.actions.length).map((c) => c.cluster);
  assert.ok(changed.length >= 1 && !changed.includes("ap-south"));
  for (const name of ["us-east", "eu-west"]) assert.ok(byName.get(name)!.converged, `${name} converged`);
  // The links towards the stopped cluster are kept as they are, not pruned.
  for (const from of ["us-east", "eu-west"]) {
    const link = await fx.acc.clients.get(from)!.get({
      apiVersion: "multicluster.linkerd.io/v1alpha3",
      kind: "Link",
      namespace: "linkerd-multicluster",
      name: "ap-south",
    });
    assert.ok(link, `Link ap-south kept in ${from}`);
  }
});
