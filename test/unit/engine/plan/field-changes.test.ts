/** Pure parts of planning: field diff, managed-field removals, immutable fields, redaction. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fieldChanges, touchesImmutable } from "../../../../src/engine/plan/field-changes.js";
import { managedLeafPaths } from "../../../../src/kube/managed-fields.js";
import { formatPath } from "../../../../src/kube/field-path.js";
import type { KubeObject } from "../../../../src/kube/object.js";
import { showChange } from "../../../../src/report/values.js";

const svc = (labels: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "ns", labels },
  ...extra,
});

test("server defaults and other managers' fields are not drift", () => {
  const desired: KubeObject = { ...svc({ a: "1" }), spec: { ports: [{ name: "http", port: 80 }] } };
  const live: KubeObject = {
    ...svc({ a: "1", other: "x" }),
    spec: {
      ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 80 }],
      clusterIP: "10.96.0.10",
      type: "ClusterIP",
    },
  };
  assert.deepEqual(fieldChanges(desired, live, "crosslink"), []);
});

test("a changed list element is one change at the list's path", () => {
  const desired: KubeObject = {
    ...svc({}),
    spec: {
      rules: [
        {
          backendRefs: [
            { name: "a", weight: 90 },
            { name: "b", weight: 10 },
          ],
        },
      ],
    },
  };
  const live: KubeObject = {
    ...svc({}),
    spec: {
      rules: [
        {
          backendRefs: [
            { name: "a", weight: 50 },
            { name: "b", weight: 50 },
          ],
        },
      ],
    },
  };
  const changes = fieldChanges(desired, live, "crosslink");
  assert.equal(changes.length, 1);
  assert.equal(formatPath(changes[0]!.path), "spec.rules");
});

test("a label crosslink applied and no longer wants is a removal; others' labels are not", () => {
  const live = svc({ "mirror.linkerd.io/exported": "true", app: "web" }, {});
  live.metadata.managedFields = [
    {
      manager: "crosslink",
      operation: "Apply",
      fieldsV1: { "f:metadata": { "f:labels": { "f:mirror.linkerd.io/exported": {} } } },
    },
    { manager: "kubectl", operation: "Apply", fieldsV1: { "f:metadata": { "f:labels": { "f:app": {} } } } },
  ];
  assert.deepEqual(managedLeafPaths(live, "crosslink"), [["metadata", "labels", "mirror.linkerd.io/exported"]]);
  const changes = fieldChanges(svc({}), live, "crosslink");
  assert.equal(changes.length, 1);
  assert.equal(showChange(changes[0]!), 'metadata.labels["mirror.linkerd.io/exported"]: "true" → (removed)');
});

test("lists keyed in managed fields count as one owned path", () => {
  const live = svc({});
  live.metadata.managedFields = [
    {
      manager: "crosslink",
      operation: "Apply",
      fieldsV1: { "f:spec": { "f:ports": { 'k:{"port":80}': { ".": {}, "f:port": {} } } } },
    },
  ];
  assert.deepEqual(managedLeafPaths(live, "crosslink"), [["spec", "ports"]]);
});

test("immutable fields make a replace", () => {
  const a: KubeObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "x" },
    roleRef: { name: "a" },
  };
  const b: KubeObject = { ...a, roleRef: { name: "b" } };
  assert.ok(touchesImmutable("ClusterRoleBinding", fieldChanges(a, b, "crosslink")));
  assert.ok(!touchesImmutable("ClusterRole", fieldChanges(a, b, "crosslink")));
});

test("secret values are marked sensitive and shown redacted", () => {
  const desired: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    data: { kubeconfig: "c2VjcmV0" },
  };
  const live: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { kubeconfig: "b2xk" } };
  const [change] = fieldChanges(desired, live, "crosslink");
  assert.ok(change!.sensitive);
  assert.equal(showChange(change!), "data.kubeconfig: (sensitive)");
  assert.ok(!showChange(change!).includes("c2VjcmV0"));
});
