/** The managed controller's image choice (pure; no cluster): topology, then linkerd-config, else XL608. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClusterFacts, LinkerdConfigFacts } from "../../src/engine/facts.js";
import { parseLinkerdConfig } from "../../src/engine/observe.js";
import { controllerImage } from "../../src/engine/render/source.js";
import type { Link } from "../../src/topology/types.js";

const link: Link = {
  from: "west",
  to: "east",
  controller: "managed",
  credentials: { mode: "token-request", ttlSeconds: 86400 },
  excludedLabels: [],
  excludedAnnotations: [],
};
const facts = (values: string | undefined): ClusterFacts => {
  const linkerd: LinkerdConfigFacts | undefined =
    values === undefined
      ? undefined
      : parseLinkerdConfig({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "linkerd-config" },
          data: { values },
        });
  return {
    cluster: "west",
    server: "https://127.0.0.1:1",
    served: {},
    owned: [],
    services: new Map(),
    mirrors: [],
    linkNames: [],
    adoptable: [],
    ...(linkerd ? { linkerd } : {}),
  };
};

test("the chart's image at the cluster's Linkerd version", () => {
  assert.deepEqual(controllerImage(link, facts("linkerdVersion: edge-26.8.3\n")), {
    image: "cr.l5d.io/linkerd/controller:edge-26.8.3",
  });
  assert.deepEqual(
    controllerImage(link, facts("linkerdVersion: stable-2.14.10\ncontrollerImage: cr.l5d.io/linkerd/controller\n")),
    { image: "cr.l5d.io/linkerd/controller:stable-2.14.10" },
  );
});

test("linkerd-config's own controller repository and tag override win over the defaults", () => {
  assert.deepEqual(
    controllerImage(link, facts("linkerdVersion: enterprise-2.16.1\ncontrollerImage: ghcr.io/buoyantio/controller\n")),
    { image: "ghcr.io/buoyantio/controller:enterprise-2.16.1" },
  );
  assert.deepEqual(controllerImage(link, facts("linkerdVersion: edge-26.8.3\ncontrollerImageVersion: edge-26.8.4\n")), {
    image: "cr.l5d.io/linkerd/controller:edge-26.8.4",
  });
});

test("no readable version: XL608 naming why, never a guessed tag", () => {
  for (const [values, why] of [
    [undefined, /linkerd-config is not readable/],
    ["clusterDomain: cluster.local\n", /names no linkerdVersion/],
    ["linkerdVersion: 'not a tag!'\n", /is not an image tag/],
  ] as const) {
    const r = controllerImage(link, facts(values));
    assert.equal(r.image, undefined);
    assert.equal(r.finding?.code, "XL608");
    assert.equal(r.finding?.severity, "error");
    assert.match(r.finding!.message, why);
    assert.match(r.finding!.hint ?? "", /controllerImage/);
  }
});

test("the topology's controllerImage wins, even without linkerd-config", () => {
  assert.deepEqual(
    controllerImage({ ...link, controllerImage: "registry.example/l5d/controller:edge-26.8.3" }, facts(undefined)),
    { image: "registry.example/l5d/controller:edge-26.8.3" },
  );
});
