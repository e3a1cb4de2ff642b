/** The watch cache's pure store: events, relists, write-through, selectors, slimming (recorded events, no server). */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../../src/kube/object.js";
import {
  ObjectStore,
  inScope,
  newerVersion,
  parseSelector,
  slimObject,
  type StoreScope,
} from "../../../src/kube/watch-store.js";
import { DEFAULT_SLIM } from "../../../src/kube/watch-cache.js";

const svc = (name: string, rv: string, labels: Record<string, string> = {}, ns = "app"): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: ns, resourceVersion: rv, labels },
});
const owned = { "app.kubernetes.io/managed-by": "crosslink", "crosslink.dev/topology": "mesh" };
const scope: StoreScope = {
  apiVersion: "v1",
  kind: "Service",
  labelSelector: "app.kubernetes.io/managed-by=crosslink,crosslink.dev/topology=mesh",
};

test("a LIST then recorded events: added, modified, bookmark, deleted; an echo of the held version is no change", () => {
  const s = new ObjectStore(scope);
  assert.equal(s.replace([svc("a", "10", owned)], "12"), true);
  assert.equal(s.resourceVersion, "12");
  assert.equal(s.apply({ type: "ADDED", object: svc("b", "13", owned) }), true);
  assert.equal(s.apply({ type: "MODIFIED", object: svc("a", "14", { ...owned, x: "1" }) }), true);
  assert.equal(s.get("app", "a")?.metadata.labels?.x, "1");
  assert.equal(s.apply({ type: "MODIFIED", object: svc("a", "14", { ...owned, x: "1" }) }), false);
  assert.equal(
    s.apply({
      type: "BOOKMARK",
      object: { apiVersion: "v1", kind: "Service", metadata: { name: "", resourceVersion: "20" } },
    }),
    false,
  );
  assert.equal(s.resourceVersion, "20");
  assert.equal(s.apply({ type: "DELETED", object: svc("b", "21", owned) }), true);
  assert.deepEqual(
    s.list().map((o) => o.metadata.name),
    ["a"],
  );
  assert.equal(s.resourceVersion, "21");
});

test("a relist after 410 reports a change only when the objects differ", () => {
  const s = new ObjectStore(scope);
  s.replace([svc("a", "10", owned), svc("b", "11", owned)], "11");
  assert.equal(s.replace([svc("a", "10", owned), svc("b", "11", owned)], "30"), false);
  assert.equal(s.resourceVersion, "30");
  assert.equal(s.replace([svc("a", "10", owned)], "31"), true, "b was deleted during the gap");
  assert.equal(s.replace([svc("a", "32", owned)], "32"), true, "a changed during the gap");
});

test("write-through: a newer version wins, an older one is ignored, a delete or a label change removes", () => {
  const s = new ObjectStore(scope);
  s.replace([svc("a", "10", owned)], "10");
  assert.equal(s.written(svc("a", "15", owned)), true);
  assert.equal(s.get("app", "a")?.metadata.resourceVersion, "15");
  assert.equal(s.written(svc("a", "12", owned)), false, "an older answer does not replace a newer event");
  assert.equal(
    s.apply({ type: "MODIFIED", object: svc("a", "15", owned) }),
    false,
    "the echo of our write is no change",
  );
  assert.equal(s.written(svc("c", "16", owned)), true);
  assert.equal(s.written(svc("c", "17", {})), true, "no longer selected: removed");
  assert.equal(s.get("app", "c"), undefined);
  assert.equal(s.written({ apiVersion: "v1", kind: "Secret", metadata: { name: "a", namespace: "app" } }), false);
  assert.equal(s.written({ apiVersion: "v1", kind: "Service", metadata: { name: "a", namespace: "app" } }, true), true);
  assert.equal(s.size, 0);
});

test("selectors and scopes: equality terms, field selectors by path, namespaces, group not version", () => {
  assert.deepEqual(parseSelector("a=b,c!=d,e==f,g,!h"), [
    { key: "a", op: "=", value: "b" },
    { key: "c", op: "!=", value: "d" },
    { key: "e", op: "=", value: "f" },
    { key: "g", op: "exists" },
    { key: "h", op: "absent" },
  ]);
  assert.throws(() => parseSelector("a in (b)"), /set-based/);
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    type: "mirror.linkerd.io/remote-kubeconfig",
    metadata: { name: "cluster-credentials-east", namespace: "linkerd-multicluster" },
  };
  const byType = {
    apiVersion: "v1",
    kind: "Secret",
    namespace: "linkerd-multicluster",
    fieldSelector: "type=mirror.linkerd.io/remote-kubeconfig",
  };
  assert.equal(inScope(byType, secret), true);
  assert.equal(inScope({ ...byType, namespace: "linkerd" }, secret), false);
  assert.equal(inScope({ ...byType, fieldSelector: "metadata.name=other" }, secret), false);
  assert.equal(inScope({ ...byType, fieldSelector: "metadata.name=cluster-credentials-east" }, secret), true);
  const link = { apiVersion: "multicluster.linkerd.io/v1alpha2", kind: "Link", metadata: { name: "l" } };
  assert.equal(inScope({ apiVersion: "multicluster.linkerd.io/v1alpha3", kind: "Link" }, link), true);
});

test("resource versions compare as integers", () => {
  assert.equal(newerVersion("100", "99"), true);
  assert.equal(newerVersion("99", "100"), false);
  assert.equal(newerVersion("100", "100"), false);
  assert.equal(newerVersion("5", undefined), true);
});

test("slimming of an owned Service keeps crosslink's fields, others' export labels, the gateway's status; drops last-applied", () => {
  const live: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "web",
      namespace: "app",
      labels: owned,
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}", keep: "1" },
      managedFields: [
        { manager: "crosslink", operation: "Apply", fieldsV1: { "f:spec": { "f:ports": {} } } },
        {
          manager: "kubectl",
          operation: "Update",
          fieldsV1: { "f:metadata": { "f:labels": { "f:mirror.linkerd.io/exported": {}, "f:app": {} } }, "f:spec": {} },
        },
        { manager: "kube-controller", operation: "Update", fieldsV1: { "f:status": {} } },
      ],
    },
    spec: { ports: [] },
    status: { loadBalancer: {} },
  };
  const slim = slimObject(live, DEFAULT_SLIM);
  assert.deepEqual(slim.metadata.annotations, { keep: "1" });
  assert.equal(slim.status, undefined);
  assert.deepEqual(slim.metadata.managedFields![0], live.metadata.managedFields![0]);
  assert.deepEqual(slim.metadata.managedFields![1]!.fieldsV1, {
    "f:metadata": { "f:labels": { "f:mirror.linkerd.io/exported": {} } },
  });
  assert.equal(slim.metadata.managedFields![2]!.fieldsV1, undefined);
  assert.equal(slim.metadata.managedFields![2]!.manager, "kube-controller");
  assert.ok(
    live.status && live.metadata.annotations?.["kubectl.kubernetes.io/last-applied-configuration"],
    "the input is unchanged",
  );
  const gateway = slimObject({ ...live, metadata: { ...live.metadata, name: "linkerd-gateway" } }, DEFAULT_SLIM);
  assert.deepEqual(gateway.status, { loadBalancer: {} });
});
