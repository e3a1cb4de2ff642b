/** The kinds record: which kinds observe lists, what plan records, and that the record is written first. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  KINDS_RECORD_ANNOTATION,
  kindsRecordName,
  kindsToList,
  mustList,
  plannedKindsRecord,
  renderableKinds,
} from "../../../src/engine/kinds-record.js";
import { MANAGED_KINDS } from "../../../src/kube/kinds.js";
import { actionIds, clusterPlan, eastWest, healthy, planFacts, WEB_SPLIT } from "./mesh.js";

const SERVED = { "gateway.networking.k8s.io": ["v1"], "policy.linkerd.io": ["v1beta3"] };
const clusterOf = (t: Awaited<ReturnType<typeof eastWest>>, name: string) => t.clusters.find((c) => c.name === name)!;

test("renderable kinds: a target's remote access, a source's managed controller, each split's API", async () => {
  const t = await eastWest({
    links: [{ from: "west", to: "east", controller: "managed" }],
    splits: [WEB_SPLIT],
  });
  const east = [...renderableKinds(t, clusterOf(t, "east"), SERVED, false)].sort();
  assert.deepEqual(east, [
    "ServiceAccount",
    "rbac.authorization.k8s.io/ClusterRole",
    "rbac.authorization.k8s.io/ClusterRoleBinding",
  ]);
  const west = renderableKinds(t, clusterOf(t, "west"), SERVED, false);
  assert.deepEqual([...west].sort(), [
    "ServiceAccount",
    "apps/Deployment",
    "gateway.networking.k8s.io/HTTPRoute",
    "rbac.authorization.k8s.io/ClusterRoleBinding",
    "rbac.authorization.k8s.io/Role",
    "rbac.authorization.k8s.io/RoleBinding",
  ]);
  assert.ok(renderableKinds(t, clusterOf(t, "west"), SERVED, true).has("rbac.authorization.k8s.io/ClusterRole"));
  // Without the Gateway API the split falls to Linkerd's HTTPRoute, as render picks it.
  const linkerdOnly = renderableKinds(t, clusterOf(t, "west"), { "policy.linkerd.io": ["v1beta3"] }, false);
  assert.ok(linkerdOnly.has("policy.linkerd.io/HTTPRoute") && !linkerdOnly.has("gateway.networking.k8s.io/HTTPRoute"));
});

test("observe lists every kind without a record, else the recorded and renderable ones (Secrets always)", () => {
  const renderable = new Set(["ServiceAccount"]);
  const listed = (recorded?: string[]) =>
    MANAGED_KINDS.filter((k) => mustList(k, recorded, renderable)).map((k) => `${k.group}/${k.kind}`);
  assert.equal(listed(undefined).length, MANAGED_KINDS.length);
  assert.deepEqual(listed(["apps/Deployment"]).sort(), [
    "/Secret",
    "/Service",
    "/ServiceAccount",
    "apps/Deployment",
    "multicluster.linkerd.io/Link",
  ]);
});

test("without a record: nothing recorded at first contact, every kind where something owned was found", () => {
  const renderable = new Set(["ServiceAccount"]);
  const listed = (recorded: readonly string[] | undefined) =>
    MANAGED_KINDS.filter((k) => mustList(k, recorded, renderable)).length;
  const none = { namespace: "linkerd" };
  assert.deepEqual(kindsToList(none, false), []);
  assert.equal(kindsToList(none, true), undefined);
  assert.equal(listed(kindsToList(none, false)), 4, "Secrets, Services, Links and the renderable ServiceAccounts");
  assert.equal(listed(kindsToList(none, true)), MANAGED_KINDS.length);
  assert.deepEqual(kindsToList({ namespace: "linkerd", recorded: ["apps/Deployment"] }, false), ["apps/Deployment"]);
});

test("the record grows with desired and live kinds, never shrinks, and is not rewritten when unchanged", () => {
  const obj = (apiVersion: string, kind: string) => ({ apiVersion, kind, metadata: { name: "x" } });
  const first = plannedKindsRecord(
    "mesh",
    { namespace: "linkerd" },
    [obj("v1", "ServiceAccount")],
    [obj("apps/v1", "Deployment"), obj("v1", "Secret")],
  );
  assert.equal(first?.metadata.name, kindsRecordName("mesh"));
  assert.equal(first?.metadata.namespace, "linkerd");
  assert.equal(first?.metadata.annotations?.[KINDS_RECORD_ANNOTATION], "ServiceAccount,apps/Deployment");
  const recorded = ["ServiceAccount", "apps/Deployment"];
  assert.equal(
    plannedKindsRecord("mesh", { namespace: "linkerd", recorded }, [obj("v1", "ServiceAccount")], []),
    undefined,
  );
  const grown = plannedKindsRecord(
    "mesh",
    { namespace: "linkerd", recorded },
    [obj("rbac.authorization.k8s.io/v1", "Role")],
    [],
  );
  assert.equal(
    grown?.metadata.annotations?.[KINDS_RECORD_ANNOTATION],
    "ServiceAccount,apps/Deployment,rbac.authorization.k8s.io/Role",
  );
  assert.equal(plannedKindsRecord("mesh", { namespace: "linkerd" }, [], [obj("v1", "Secret")]), undefined);
});

test("plan writes the record before any other action of the cluster, and only where observe read it", async () => {
  const t = await eastWest({ links: [{ from: "west", to: "east", controller: "managed" }] });
  const east = { ...(await healthy({ cluster: "east" })), kindsRecord: { namespace: "linkerd" } };
  const west = await healthy({ cluster: "west" });
  const p = planFacts(t, [east, west]);
  const eastIds = actionIds(clusterPlan(p, "east"));
  assert.equal(eastIds[0], `create Secret linkerd/${kindsRecordName("mesh")}`, eastIds.join("\n"));
  assert.ok(eastIds.length > 1);
  assert.ok(!actionIds(clusterPlan(p, "west")).some((id) => id.includes(kindsRecordName("mesh"))));
});
