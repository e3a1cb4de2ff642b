/** Render of exports without a server: each export mode's label, missing Services, labels crosslink no longer wants. */
import assert from "node:assert/strict";
import test from "node:test";
import { EXPORT_MODES } from "../../../../src/extensions/export-modes.js";
import { serverSideApply, service } from "../../../support/facts.js";
import { eastWest, healthy, renderFacts } from "../mesh.js";

for (const m of EXPORT_MODES) {
  test(`export mode ${m.mode}: a partial Service with only the label ${m.label}=${m.value}`, async () => {
    const topology = await eastWest({
      exports: [{ cluster: "east", namespace: "emojivoto", services: ["web-svc"], mode: m.mode }],
    });
    const east = renderFacts(topology, [await healthy({ cluster: "east", services: ["emojivoto/web-svc"] })]).get(
      "east",
    )!;
    assert.equal(east.patches.length, 1);
    const { object, force, reason } = east.patches[0]!;
    assert.deepEqual(object, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web-svc", namespace: "emojivoto", labels: { [m.label]: m.value } },
    });
    assert.equal(force, false, "never takes fields from other managers");
    assert.equal(reason, `export (${m.mode})`);
    assert.deepEqual(east.findings, []);
  });
}

test("an exported Service that does not exist yet: XL611, nothing to label", async () => {
  const east = renderFacts(await eastWest(), [await healthy({ cluster: "east" })]).get("east")!;
  assert.deepEqual(east.patches, []);
  assert.deepEqual(
    east.findings.map((f) => [f.code, f.severity]),
    [["XL611", "warning"]],
  );
});

test("a Service whose export crosslink applied is no longer exported gets an empty partial; a label set by hand is left alone", async () => {
  const topology = await eastWest({ exports: [] });
  const labelled = serverSideApply(service("emojivoto", "web-svc"), {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web-svc", namespace: "emojivoto", labels: { "mirror.linkerd.io/exported": "true" } },
  });
  const byHand = service("emojivoto", "votes", { "mirror.linkerd.io/exported": "true" });
  const east = renderFacts(topology, [await healthy({ cluster: "east", services: [labelled, byHand] })]).get("east")!;
  assert.deepEqual(
    east.patches.map((p) => [p.object, p.reason]),
    [
      [
        { apiVersion: "v1", kind: "Service", metadata: { name: "web-svc", namespace: "emojivoto" } },
        "no longer exported",
      ],
    ],
  );
});
