import { test } from "node:test";
import assert from "node:assert/strict";
import { brief, codes, load, topo } from "./helpers.js";

const link = (from: string, to: string) => `    - { from: ${from}, to: ${to} }`;

test("a valid topology has no diagnostics and is normalised", async () => {
  const r = await load(
    topo(
      [
        "  defaults: { clusterDomain: example.org }",
        "  links:",
        link("west", "east"),
        "  exports:",
        "    - { cluster: east, namespace: test, services: [podinfo] }",
        "  splits:",
        "    - cluster: west",
        "      namespace: test",
        "      service: podinfo",
        "      backends: [{ service: podinfo, weight: 1 }, { service: podinfo, cluster: east, weight: 3 }]",
      ].join("\n"),
    ),
  );
  assert.deepEqual(r.diagnostics, []);
  const t = r.topology;
  assert.ok(t);
  assert.equal(t.clusters[0]?.clusterDomain, "example.org");
  assert.equal(t.clusters[0]?.context, "east");
  assert.equal(t.links[0]?.credentials.ttlSeconds, 86400);
  assert.equal(t.links[0]?.controller, "managed");
  assert.equal(t.exports[0]?.mode, "gateway");
  assert.equal(t.manageTrust, false);
  assert.equal(t.trustAnchors[0]?.fingerprints.length, 1);
  assert.deepEqual(t.positions("/spec/links/0/to"), { file: "test.yaml", line: 14, col: 25 });
  assert.equal(t.positions("nonsense"), undefined);
});

test("XL200 duplicate cluster, XL216 shared context", async () => {
  const r = await load(topo("    - name: east\n    - name: north\n      context: west"));
  assert.deepEqual(brief(r.diagnostics), ["XL200@12:13", "XL216@14:16"]);
});

test("XL201 duplicate anchor name", async () => {
  const r = await load(topo().replace("  clusters:", "    - name: root\n      file: anchors/rsa2048.crt\n  clusters:"));
  assert.deepEqual(brief(r.diagnostics), ["XL201@9:13"]);
});

test("XL202 unresolved references everywhere", async () => {
  const r = await load(
    topo(
      [
        "  links:",
        link("north", "east"),
        "  exports:",
        "    - { cluster: south, namespace: a, services: [s] }",
        "  splits:",
        "    - { cluster: up, namespace: a, service: s, backends: [{ service: s, cluster: down, weight: 1 }] }",
      ].join("\n"),
    ),
  );
  assert.deepEqual(brief(r.diagnostics), ["XL202@13:15", "XL202@15:18", "XL202@17:18", "XL202@17:82"]);
});

test("XL203 self link, XL204 duplicate link", async () => {
  const r = await load(topo(["  links:", link("east", "east"), link("west", "east"), link("west", "east")].join("\n")));
  assert.deepEqual(brief(r.diagnostics), ["XL203@13:25", "XL204@15:7"]);
});

test("XL205 a service exported twice from one cluster and namespace, across entries and modes", async () => {
  const r = await load(
    topo(
      [
        "  links:",
        link("west", "east"),
        "  exports:",
        "    - { cluster: east, namespace: a, services: [s, t] }",
        "    - { cluster: east, namespace: a, services: [t], mode: federated }",
        "    - { cluster: east, namespace: b, services: [s] }",
      ].join("\n"),
    ),
  );
  assert.deepEqual(brief(r.diagnostics), ["XL205@16:49"]);
});

test("XL206 no link, XL207 not exported (with a namespace hint)", async () => {
  const r = await load(
    topo(
      [
        "  links:",
        link("east", "west"),
        "  exports:",
        "    - { cluster: west, namespace: other, services: [s] }",
        "  splits:",
        "    - { cluster: west, namespace: a, service: s, backends: [{ service: s, weight: 1 }, { service: s, cluster: east, weight: 1 }] }",
        "    - { cluster: east, namespace: a, service: s, backends: [{ service: s, cluster: west, weight: 1 }] }",
      ].join("\n"),
    ),
  );
  assert.deepEqual(brief(r.diagnostics), ["XL207@17:99", "XL206@17:111", "XL207@18:72"]);
  const hint = r.diagnostics.find((d) => d.line === 18)?.hint ?? "";
  assert.match(hint, /namespace other/);
});

test("XL208 zero weights, XL209 duplicate backend, XL210 own cluster is local", async () => {
  const r = await load(
    topo(
      [
        "  splits:",
        "    - cluster: west",
        "      namespace: a",
        "      service: s",
        "      backends:",
        "        - { service: s, weight: 0 }",
        "        - { service: s, cluster: west, weight: 0 }",
        "        - { service: t, weight: 0 }",
      ].join("\n"),
    ),
  );
  assert.deepEqual(brief(r.diagnostics), ["XL208@16:7", "XL209@18:11", "XL210@18:34"]);
  const w = await load(
    topo(
      "  splits:\n    - { cluster: west, namespace: a, service: s, backends: [{ service: t, cluster: west, weight: 1 }] }",
    ),
  );
  assert.deepEqual(brief(w.diagnostics), ["XL210@13:84"]);
  assert.equal(w.diagnostics[0]?.severity, "warning");
  assert.equal(w.topology?.splits[0]?.backends[0]?.cluster, undefined);
});

test("XL211 mirror names longer than 63 characters", async () => {
  const longSvc = "s".repeat(55);
  const r = await load(
    topo(
      [
        "  links:",
        link("west", "a-very-long-cluster-name"),
        "  exports:",
        `    - { cluster: a-very-long-cluster-name, namespace: a, services: [${longSvc}] }`,
        `    - { cluster: a-very-long-cluster-name, namespace: b, services: [${"f".repeat(54)}], mode: federated }`,
        `    - { cluster: a-very-long-cluster-name, namespace: c, services: [${"f".repeat(53)}], mode: federated }`,
      ].join("\n"),
      ["west", "a-very-long-cluster-name"],
    ),
  );
  assert.deepEqual(brief(r.diagnostics), ["XL211@15:69", "XL211@16:69"]);
});

test("XL212 the same service split twice", async () => {
  const split = "    - { cluster: west, namespace: a, service: s, backends: [{ service: s, weight: 1 }] }";
  const r = await load(topo(["  splits:", split, split].join("\n")));
  assert.deepEqual(brief(r.diagnostics), ["XL212@14:47"]);
});

test("XL213 ttl below 10m, XL214 ttl with service-account-token", async () => {
  const r = await load(
    topo(
      [
        "  links:",
        "    - { from: west, to: east, credentials: { ttl: 9m59s } }",
        "    - { from: east, to: west, credentials: { mode: service-account-token, ttl: 1h } }",
      ].join("\n"),
    ),
  );
  assert.deepEqual(brief(r.diagnostics), ["XL213@13:51", "XL214@14:80"]);
  assert.equal(r.diagnostics[1]?.severity, "warning");
});

test("ttl parsing is normalised into seconds", async () => {
  const r = await load(topo("  links:\n    - { from: west, to: east, credentials: { ttl: 1h30m } }"));
  assert.equal(r.topology?.links[0]?.credentials.ttlSeconds, 5400);
});

test("XL215 exports from a cluster nobody links to", async () => {
  const r = await load(topo("  exports:\n    - { cluster: east, namespace: a, services: [s] }"));
  assert.deepEqual(brief(r.diagnostics), ["XL215@13:18"]);
  assert.ok(r.topology, "warnings do not invalidate");
});

test("per-cluster fields override defaults", async () => {
  const r = await load(
    topo("  defaults: { linkerdNamespace: l5d, multiclusterNamespace: mc }", [
      "east",
      "west\n      linkerdNamespace: linkerd\n      context: kind-west\n      gateway: { addresses: [203.0.113.10], port: 4143 }",
    ]),
  );
  assert.deepEqual(r.diagnostics, []);
  const [east, west] = r.topology?.clusters ?? [];
  assert.deepEqual(
    [east?.linkerdNamespace, east?.multiclusterNamespace, east?.clusterDomain],
    ["l5d", "mc", "cluster.local"],
  );
  assert.deepEqual(
    [west?.linkerdNamespace, west?.context, west?.gateway],
    ["linkerd", "kind-west", { addresses: ["203.0.113.10"], port: 4143 }],
  );
});

test("schema problems and rule problems are reported together", async () => {
  const r = await load(topo("  links:\n    - { from: west, to: nowhere, controller: x }"));
  assert.deepEqual(codes(r.diagnostics), ["XL202", "XL113"]);
});

test("a link's controllerImage is kept; one that is not an image reference is a located schema error", async () => {
  const ok = await load(
    topo(
      [
        "  links:",
        "    - { from: west, to: east, controllerImage: 'registry.example:5000/l5d/controller:edge-26.8.3' }",
      ].join("\n"),
    ),
  );
  assert.deepEqual(ok.diagnostics, []);
  assert.equal(ok.topology?.links[0]?.controllerImage, "registry.example:5000/l5d/controller:edge-26.8.3");
  assert.equal(
    (await load(topo(["  links:", link("west", "east")].join("\n")))).topology?.links[0]?.controllerImage,
    undefined,
  );
  const bad = await load(
    topo(["  links:", "    - { from: west, to: east, controllerImage: 'Not An Image' }"].join("\n")),
  );
  assert.equal(bad.topology, undefined);
  assert.ok(
    bad.diagnostics.some((d) => d.severity === "error" && d.line > 0),
    JSON.stringify(bad.diagnostics),
  );
});
