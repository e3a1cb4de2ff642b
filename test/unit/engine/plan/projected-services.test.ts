/**
 * The watch cache keeps a Service crosslink does not own projected to what
 * observe and plan read (kube/watch-store.ts projectForeignService). Plans
 * made from projected Services equal the plans made from whole ones: export
 * labels (applied, dropped, adopted from another manager), a split's parent
 * port, orphaned and federated mirrors.
 */
import assert from "node:assert/strict";
import test from "node:test";
import type { ClusterFacts } from "../../../../src/engine/facts.js";
import type { Plan } from "../../../../src/engine/plan/actions.js";
import { declarationsOf } from "../../../../src/engine/plan/declarations.js";
import type { KubeObject, ManagedFieldsEntry } from "../../../../src/kube/object.js";
import { DEFAULT_SLIM } from "../../../../src/kube/watch-cache.js";
import { slimObject } from "../../../../src/kube/watch-store.js";
import type { Topology } from "../../../../src/topology/types.js";
import { service } from "../../../support/facts.js";
import { actionIds, clusterPlan, converge, eastWest, healthy, planFacts, WEB_SPLIT } from "../mesh.js";

/** The facts as observe reads them from the watch cache: every Service and mirror slimmed by the default policy. */
function projected(facts: readonly ClusterFacts[]): ClusterFacts[] {
  const slim = (o: KubeObject) => slimObject(o, DEFAULT_SLIM);
  return facts.map((f) => ({
    ...f,
    services: new Map([...f.services].map(([k, v]) => [k, slim(v)])),
    mirrors: f.mirrors.map(slim),
  }));
}

/** Plans from whole and from projected Services; asserts they are equal and returns the plan. */
function samePlan(
  topology: Topology,
  facts: readonly ClusterFacts[],
  opts: Parameters<typeof planFacts>[2] = {},
): Plan {
  const whole = planFacts(topology, facts, opts);
  const slim = planFacts(topology, projected(facts), opts);
  assert.deepEqual(slim.clusters, whole.clusters);
  return whole;
}

/** A user's Service as the API server returns it: server-set fields, a selector, another manager's entry. */
function userService(namespace: string, name: string, labels: Record<string, string> = { app: name }): KubeObject {
  const s = service(namespace, name, labels);
  s.metadata.resourceVersion = "41";
  s.metadata.creationTimestamp = "2026-06-01T00:00:00Z";
  s.metadata.annotations = { "kubectl.kubernetes.io/last-applied-configuration": "{}", "team.example/owner": "web" };
  s.metadata.managedFields = [
    {
      manager: "kubectl",
      operation: "Update",
      apiVersion: "v1",
      fieldsType: "FieldsV1",
      fieldsV1: { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:ports": {}, "f:selector": {} } },
    },
  ];
  s.spec = {
    clusterIP: "10.0.0.12",
    clusterIPs: ["10.0.0.12"],
    ports: [{ name: "http", port: 8080, protocol: "TCP", targetPort: 8080 }],
    selector: { app: name },
    type: "ClusterIP",
  };
  return s;
}

test("projection: a user's Service keeps labels, crosslink's managed entry, the mirror annotations and port numbers", () => {
  const s = userService("emojivoto", "web-svc");
  s.metadata.labels = { app: "web-svc", "mirror.linkerd.io/exported": "true" };
  s.metadata.annotations!["multicluster.linkerd.io/remote-discovery"] = "web-svc@east";
  const mine: ManagedFieldsEntry & { time: string } = {
    manager: "crosslink",
    operation: "Apply",
    apiVersion: "v1",
    time: "2026-06-01T00:00:00Z",
    fieldsType: "FieldsV1",
    fieldsV1: { "f:metadata": { "f:labels": { "f:mirror.linkerd.io/exported": {} } } },
  };
  s.metadata.managedFields!.push(mine);
  s.status = { loadBalancer: {} };
  assert.deepEqual(slimObject(s, DEFAULT_SLIM), {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "web-svc",
      namespace: "emojivoto",
      resourceVersion: "41",
      labels: { app: "web-svc", "mirror.linkerd.io/exported": "true" },
      annotations: { "multicluster.linkerd.io/remote-discovery": "web-svc@east" },
      managedFields: [
        {
          manager: "crosslink",
          operation: "Apply",
          fieldsV1: { "f:metadata": { "f:labels": { "f:mirror.linkerd.io/exported": {} } } },
        },
      ],
    },
    spec: { ports: [{ port: 8080 }] },
  });
  const other = slimObject({ ...s, metadata: { ...s.metadata, name: "api-svc" } }, DEFAULT_SLIM);
  const slim = slimObject(s, DEFAULT_SLIM);
  assert.equal(other.metadata.managedFields, slim.metadata.managedFields, "equal entries are held once");
  assert.equal(other.spec, slim.spec, "equal port lists are held once");
  assert.ok(Object.isFrozen(slim.metadata.managedFields![0]!.fieldsV1), "and frozen");
  assert.equal(Object.isFrozen(s.metadata.managedFields![1]!.fieldsV1), false, "the input is not frozen");
  const owned = { ...s, metadata: { ...s.metadata, labels: { "app.kubernetes.io/managed-by": "crosslink" } } };
  const kept = slimObject(owned, DEFAULT_SLIM);
  assert.deepEqual(kept.spec, s.spec, "crosslink's own Services stay whole");
  assert.equal(kept.status, undefined);
  const gateway = userService("linkerd-multicluster", "linkerd-gateway");
  gateway.status = { loadBalancer: { ingress: [{ ip: "10.1.0.1" }] } };
  const gw = slimObject(gateway, DEFAULT_SLIM);
  assert.deepEqual([gw.spec, gw.status], [gateway.spec, gateway.status], "the gateway is read whole");
});

test("plans from projected Services equal plans from whole ones: export, split, converged, unexport", async () => {
  const topology = await eastWest({ splits: [WEB_SPLIT] });
  const facts = [
    await healthy({ cluster: "east", services: [userService("emojivoto", "web-svc")] }),
    await healthy({ cluster: "west", services: [userService("emojivoto", "web-svc")] }),
  ];
  const first = samePlan(topology, facts);
  assert.ok(actionIds(clusterPlan(first, "east")).includes("update Service emojivoto/web-svc"));
  const converged = converge(topology, facts, first);
  const second = samePlan(topology, converged);
  assert.deepEqual(
    second.clusters.flatMap((c) => actionIds(c)),
    [],
  );
  const route = converged[1]!.owned.find((o) => o.kind === "HTTPRoute")!;
  assert.match(JSON.stringify(route.spec), /"port":8080/, "the split's parent port is the Service's");
  const unexported = await eastWest({ exports: [] });
  const dropped = samePlan(unexported, converged, { previous: declarationsOf(topology) });
  assert.deepEqual(actionIds(clusterPlan(dropped, "east")), ["update Service emojivoto/web-svc"]);
});

test("plans from projected Services equal plans from whole ones: an export label another manager set is adopted", async () => {
  const topology = await eastWest();
  const labelled = userService("emojivoto", "web-svc", { app: "web", "mirror.linkerd.io/exported": "true" });
  labelled.metadata.managedFields = [
    {
      manager: "kubectl-label",
      operation: "Update",
      apiVersion: "v1",
      fieldsType: "FieldsV1",
      fieldsV1: { "f:metadata": { "f:labels": { "f:mirror.linkerd.io/exported": {}, "f:app": {} } } },
    },
  ];
  const p = samePlan(topology, [
    await healthy({ cluster: "east", services: [labelled] }),
    await healthy({ cluster: "west" }),
  ]);
  const adopt = clusterPlan(p, "east").actions.find((a) => a.type === "update" && a.ref.kind === "Service");
  assert.ok(adopt && adopt.type === "update");
  assert.deepEqual(adopt.adoptedFrom, ["kubectl-label"]);
});

test("plans from projected Services equal plans from whole ones: orphaned and federated mirrors", async () => {
  const topology = await eastWest();
  const converged = converge(
    topology,
    [await healthy({ cluster: "east" }), await healthy({ cluster: "west" })],
    planFacts(topology, [await healthy({ cluster: "east" }), await healthy({ cluster: "west" })]),
  );
  const mirror = userService("emojivoto", "web-svc-east", {
    "mirror.linkerd.io/mirrored-service": "true",
    "mirror.linkerd.io/cluster-name": "east",
  });
  const federated = userService("emojivoto", "web-svc-federated", { "mirror.linkerd.io/mirrored-service": "true" });
  federated.metadata.annotations!["multicluster.linkerd.io/remote-discovery"] = "web-svc@east";
  const withMirrors = converged.map((f) => (f.cluster === "west" ? { ...f, mirrors: [mirror, federated] } : f));
  const unlinked = await eastWest({ links: [], exports: [] });
  const p = samePlan(unlinked, withMirrors, { previous: declarationsOf(topology), allowMassPrune: true });
  const west = actionIds(clusterPlan(p, "west"));
  assert.ok(west.includes("delete Service emojivoto/web-svc-east"), west.join("\n"));
  assert.ok(west.includes("delete Service emojivoto/web-svc-federated"), west.join("\n"));
});
