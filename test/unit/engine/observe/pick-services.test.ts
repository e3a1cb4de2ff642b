/** observe's pick from one LIST of every Service: owned, exported, mirrored, gateway and per-namespace ones. */
import assert from "node:assert/strict";
import test from "node:test";
import { pickServices } from "../../../../src/engine/observe.js";
import { MIRRORED_SERVICE_LABEL, ownerLabels } from "../../../../src/engine/names.js";
import { service } from "../../../support/facts.js";
import { eastWest } from "../mesh.js";

test("one Service LIST yields what the per-label and per-namespace LISTs did", async () => {
  const topology = await eastWest();
  const east = topology.clusters.find((c) => c.name === "east")!;
  const all = [
    service("emojivoto", "web-svc"),
    service("emojivoto", "voting-svc"),
    service("other", "labelled", { "mirror.linkerd.io/exported": "true" }),
    service("other", "federated", { "mirror.linkerd.io/federated": "member" }),
    service("other", "unrelated"),
    service("emojivoto", "web-svc-west", { [MIRRORED_SERVICE_LABEL]: "true" }),
    service(east.multiclusterNamespace, "linkerd-gateway"),
    service(east.multiclusterNamespace, "probe-gateway-west", ownerLabels(topology.name)),
    service(east.multiclusterNamespace, "probe-other-topology", ownerLabels("another")),
  ];
  const picked = pickServices(topology, east, all);
  assert.deepEqual([...picked.services.keys()].sort(), [
    "emojivoto/voting-svc",
    "emojivoto/web-svc",
    "emojivoto/web-svc-west",
    "other/federated",
    "other/labelled",
  ]);
  assert.deepEqual(
    picked.mirrors.map((s) => s.metadata.name),
    ["web-svc-west"],
  );
  assert.deepEqual(
    picked.owned.map((s) => s.metadata.name),
    ["probe-gateway-west"],
  );
  assert.equal(picked.gateway?.metadata.name, "linkerd-gateway");
});

test("a cluster the topology names no namespace in keeps only the labelled Services", async () => {
  const topology = await eastWest();
  const west = topology.clusters.find((c) => c.name === "west")!;
  const picked = pickServices(topology, west, [service("emojivoto", "web-svc"), service("x", "y")]);
  assert.deepEqual([...picked.services.keys()], []);
  assert.equal(picked.gateway, undefined);
});
