import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { loadTopologyFile } from "../../src/topology/load.js";
import { ROOT } from "./helpers.js";

const EXAMPLES = path.join(ROOT, "examples");
const examples = readdirSync(EXAMPLES).filter((d) => existsSync(path.join(EXAMPLES, d, "multicluster.yaml")));

test("there are at least three examples", () => {
  for (const e of ["east-west", "podinfo-split", "three-regions"]) assert.ok(examples.includes(e), e);
});

for (const e of examples) {
  test(`examples/${e} validates with zero diagnostics and has a README`, async () => {
    const r = await loadTopologyFile(path.join(EXAMPLES, e, "multicluster.yaml"));
    assert.deepEqual(r.diagnostics, []);
    assert.ok(r.topology);
    assert.ok(existsSync(path.join(EXAMPLES, e, "README.md")));
    for (const c of r.topology.clusters) assert.equal(c.context, c.name, "contexts stay defaulted to the cluster name");
  });
}

test("podinfo-split normalises as the walkthrough expects", async () => {
  const r = await loadTopologyFile(path.join(EXAMPLES, "podinfo-split/multicluster.yaml"));
  const t = r.topology;
  assert.ok(t);
  assert.deepEqual(
    t.clusters.map((c) => c.name),
    ["workload1", "workload2"],
  );
  assert.deepEqual(
    t.links.map((l) => `${l.from}->${l.to}`),
    ["workload1->workload2", "workload2->workload1"],
  );
  assert.equal(t.links[1]?.credentials.ttlSeconds, 168 * 3600);
  assert.deepEqual(t.exports, [{ cluster: "workload2", namespace: "test", services: ["podinfo"], mode: "gateway" }]);
  assert.deepEqual(t.splits[0]?.backends, [
    { service: "podinfo", weight: 50 },
    { service: "podinfo", cluster: "workload2", weight: 50 },
  ]);
  assert.equal(t.trustAnchors[0]?.file, path.join(EXAMPLES, "podinfo-split/anchors/root.crt"));
});

test("three-regions is fully linked with federated and remote-discovery exports", async () => {
  const t = (await loadTopologyFile(path.join(EXAMPLES, "three-regions/multicluster.yaml"))).topology;
  assert.ok(t);
  assert.equal(t.links.length, 6);
  assert.equal(t.exports.filter((e) => e.mode === "federated").length, 3);
  assert.equal(t.exports.filter((e) => e.mode === "remote-discovery").length, 1);
});
