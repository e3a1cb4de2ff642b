import { test } from "node:test";
import assert from "node:assert/strict";
import { topologySchema } from "../../src/topology/schema.js";
import { brief, load, topo } from "./helpers.js";

test("every property of the schema has a description", () => {
  const missing: string[] = [];
  const visit = (node: unknown, where: string): void => {
    if (node === null || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    const props = n.properties as Record<string, Record<string, unknown>> | undefined;
    for (const [k, v] of Object.entries(props ?? {})) {
      if (typeof v.description !== "string" || v.description.length < 10) missing.push(`${where}/${k}`);
    }
    for (const [k, v] of Object.entries(n)) if (typeof v === "object") visit(v, `${where}/${k}`);
  };
  visit(topologySchema(), "#");
  assert.deepEqual(missing, []);
});

test("an unknown field points at its key and suggests the right one", async () => {
  const r = await load(topo("  linx: []"));
  assert.deepEqual(brief(r.diagnostics), ["XL110@12:3"]);
  assert.match(r.diagnostics[0]?.hint ?? "", /did you mean `links`/);
  assert.equal(r.topology, undefined);
});

test("a missing required field points at the parent mapping", async () => {
  const r = await load(topo("  links:\n    - from: west\n      controller: managed"));
  assert.deepEqual(brief(r.diagnostics), ["XL111@13:7"]);
  assert.match(r.diagnostics[0]?.message ?? "", /spec\.links\[0\]: missing required field `to`/);
});

test("missing top-level fields are reported at the document start", async () => {
  const r = await load("kind: Topology\n");
  assert.deepEqual(brief(r.diagnostics), ["XL111@1:1", "XL111@1:1", "XL111@1:1"]);
});

test("types, enums, forms and bounds point at the value", async () => {
  const r = await load(
    topo(
      [
        "  manageTrust: 1",
        "  links:",
        "    - from: west",
        "      to: east",
        "      controller: auto",
        "      credentials: { mode: token, ttl: 1d }",
        "  exports:",
        "    - { cluster: east, namespace: Emoji, services: [] }",
        "  splits:",
        "    - { cluster: west, namespace: a, service: b, api: istio, backends: [{ service: b, weight: -1 }, { service: c, weight: 1.5 }] }",
      ].join("\n"),
    ),
  );
  assert.deepEqual(brief(r.diagnostics), [
    "XL112@12:16",
    "XL113@16:19",
    "XL113@17:28",
    "XL114@17:40",
    "XL114@19:35",
    "XL115@19:52",
    "XL113@21:55",
    "XL115@21:95",
    "XL112@21:123",
  ]);
});

test("a trust anchor needs exactly one of file and pem", async () => {
  const both = await load(topo().replace("      file: anchors/root.crt", "      file: anchors/root.crt\n      pem: x"));
  assert.deepEqual(brief(both.diagnostics), ["XL116@7:7"]);
  const none = await load(topo().replace("      file: anchors/root.crt", ""));
  assert.deepEqual(brief(none.diagnostics), ["XL116@7:7"]);
});

test("duplicate list items are located at the repeat", async () => {
  const r = await load(topo("  links:\n    - from: west\n      to: east\n      excludedLabels: [a, b, a]"));
  assert.deepEqual(brief(r.diagnostics), ["XL117@15:30"]);
});

test("wrong apiVersion and kind", async () => {
  const r = await load(topo().replace("crosslink.dev/v1alpha1", "v1").replace("kind: Topology", "kind: Mesh"));
  assert.deepEqual(brief(r.diagnostics), ["XL113@1:13", "XL113@2:7"]);
});
