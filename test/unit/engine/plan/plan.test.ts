/**
 * Plan without a server, for every kind of change: create, no-op after apply,
 * update with the changed fields, replace, delete and prune (with the guard),
 * orphaned mirrors, export labels, credentials, trust bundle, unreachable
 * clusters. The API server is played by test/support/facts.ts.
 */
import assert from "node:assert/strict";
import test from "node:test";
import type { ClusterFacts } from "../../../../src/engine/facts.js";
import { hasChanges } from "../../../../src/engine/plan/actions.js";
import { declarationsOf } from "../../../../src/engine/plan/declarations.js";
import { EXPORT_MODES } from "../../../../src/extensions/export-modes.js";
import { SPLIT_APIS } from "../../../../src/extensions/split-apis.js";
import { formatPath } from "../../../../src/kube/field-path.js";
import type { KubeObject } from "../../../../src/kube/object.js";
import type { Topology } from "../../../../src/topology/types.js";
import { service, serverSideApply } from "../../../support/facts.js";
import {
  actionIds,
  clusterPlan,
  converge,
  eastWest,
  healthy,
  NOW,
  planFacts,
  testPki,
  WEB_SPLIT,
  webSplit,
} from "../mesh.js";

async function freshMesh(): Promise<ClusterFacts[]> {
  return [
    await healthy({ cluster: "east", services: ["emojivoto/web-svc"] }),
    await healthy({ cluster: "west", services: ["emojivoto/web-svc"] }),
  ];
}

/** Plans, applies and returns the converged facts (asserting the first plan had changes). */
function applyAll(topology: Topology, facts: ClusterFacts[]): ClusterFacts[] {
  const p = planFacts(topology, facts);
  assert.ok(hasChanges(p));
  return converge(topology, facts, p);
}

test("an empty cluster: creates in the kind table's order, credentials and the export label; applied, the next plan is a no-op", async () => {
  const topology = await eastWest({ splits: [WEB_SPLIT] });
  const facts = await freshMesh();
  const first = planFacts(topology, facts);
  assert.deepEqual(actionIds(clusterPlan(first, "east")), [
    "create ServiceAccount linkerd-multicluster/linkerd-service-mirror-remote-access-west",
    "create ClusterRole linkerd-service-mirror-remote-access-west",
    "create ClusterRoleBinding linkerd-service-mirror-remote-access-west",
    "update Service emojivoto/web-svc",
  ]);
  const west = actionIds(clusterPlan(first, "west"));
  assert.deepEqual(west, [
    "create ServiceAccount linkerd-multicluster/controller-east",
    "create ClusterRole linkerd-multicluster-controller-access-local-resources",
    "create Role linkerd-multicluster/controller-read-remote-creds-east",
    "create ClusterRoleBinding linkerd-multicluster-controller-access-local-resources-east",
    "create RoleBinding linkerd-multicluster/controller-read-remote-creds-east",
    "credentials west→east",
    "create Service linkerd-multicluster/probe-east",
    "create Link linkerd-multicluster/east",
    "create Deployment linkerd-multicluster/controller-east",
    "create HTTPRoute emojivoto/web-svc-split",
  ]);
  const after = converge(topology, facts, first);
  const second = planFacts(topology, after);
  for (const c of second.clusters) {
    assert.deepEqual(actionIds(c), [], `${c.cluster} converged`);
    assert.deepEqual(c.findings, []);
  }
  assert.equal(clusterPlan(second, "west").unchanged, 11, "9 objects, 2 credential Secrets");
  assert.equal(clusterPlan(second, "east").unchanged, 4, "3 objects, 1 export label");
});

for (const row of SPLIT_APIS) {
  test(`split api ${row.api}: created, then a no-op, then a weight change is an update of exactly the weights`, async () => {
    const topology = await eastWest({ splits: [{ ...WEB_SPLIT, api: row.api }] });
    const converged = applyAll(topology, await freshMesh());
    assert.equal(hasChanges(planFacts(topology, converged)), false);
    const moved = await eastWest({
      splits: [{ ...webSplit(90, 10), api: row.api }],
    });
    const west = clusterPlan(planFacts(moved, converged), "west");
    assert.deepEqual(actionIds(west), [`update ${row.kind} emojivoto/web-svc-split`]);
    const action = west.actions[0]!;
    assert.equal(action.type, "update");
    if (action.type !== "update") return;
    assert.equal(action.changes.length, 1, "the backends list is one field");
    assert.match(JSON.stringify(action.changes[0]!.after), /90/);
    assert.match(JSON.stringify(action.changes[0]!.before), /50/);
  });
}

for (const m of EXPORT_MODES) {
  test(`export mode ${m.mode}: the label is applied once; dropping the export removes only crosslink's label`, async () => {
    const topology = await eastWest({
      exports: [{ cluster: "east", namespace: "emojivoto", services: ["web-svc"], mode: m.mode }],
    });
    const facts = [
      await healthy({ cluster: "east", services: [service("emojivoto", "web-svc", { app: "web" })] }),
      await healthy({ cluster: "west" }),
    ];
    const converged = applyAll(topology, facts);
    const labelled = converged[0]!.services.get("emojivoto/web-svc")!;
    assert.deepEqual(labelled.metadata.labels, { app: "web", [m.label]: m.value });
    assert.equal(hasChanges(planFacts(topology, converged)), false);
    const dropped = await eastWest({ exports: [] });
    const east = clusterPlan(planFacts(dropped, converged), "east");
    const update = east.actions.find((a) => a.type === "update" && a.ref.kind === "Service")!;
    assert.ok(update && update.type === "update");
    assert.deepEqual(
      update.changes.map((c) => [formatPath(c.path), c.before, c.after]),
      [[`metadata.labels[${JSON.stringify(m.label)}]`, m.value, undefined]],
    );
    const after = converge(dropped, converged, planFacts(dropped, converged));
    assert.deepEqual(
      after[0]!.services.get("emojivoto/web-svc")!.metadata.labels,
      { app: "web" },
      "the user's own label stays",
    );
  });
}

test("a hand edit of an owned object is an update (forced) back to the topology's value", async () => {
  const topology = await eastWest();
  const converged = applyAll(topology, await freshMesh());
  const west = converged[1]!;
  const edited = west.owned.map((o) =>
    o.kind === "Link"
      ? serverSideApply(o, { ...o, spec: { ...(o.spec as object), gatewayPort: "9999" } }, "kubectl-edit")
      : o,
  );
  const p = clusterPlan(planFacts(topology, [converged[0]!, { ...west, owned: edited }]), "west");
  assert.deepEqual(actionIds(p), ["update Link linkerd-multicluster/east"]);
  const a = p.actions[0]!;
  assert.ok(a.type === "update" && a.force);
  assert.deepEqual(
    a.changes.map((c) => [formatPath(c.path), c.before, c.after]),
    [["spec.gatewayPort", "9999", "4143"]],
  );
});

test("an immutable field that differs (a binding's roleRef) is a replace", async () => {
  const topology = await eastWest();
  const converged = applyAll(topology, await freshMesh());
  const east = converged[0]!;
  const owned = east.owned.map((o) =>
    o.kind === "ClusterRoleBinding"
      ? { ...o, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "other" } }
      : o,
  );
  const p = clusterPlan(planFacts(topology, [{ ...east, owned }, converged[1]!]), "east");
  assert.deepEqual(actionIds(p), ["replace ClusterRoleBinding linkerd-service-mirror-remote-access-west"]);
});

const THREE = [{ name: "east" }, { name: "west" }, { name: "north" }];

async function threeClusters(): Promise<{ topology: Topology; converged: ClusterFacts[] }> {
  const topology = await eastWest({
    clusters: THREE,
    links: [
      { from: "west", to: "east" },
      { from: "north", to: "east" },
    ],
  });
  const converged = applyAll(topology, [...(await freshMesh()), await healthy({ cluster: "north" })]);
  return { topology, converged };
}

test("removing one of two links deletes its objects in reverse kind order and the mirrors it leaves: an ordinary change", async () => {
  const { topology, converged } = await threeClusters();
  const mirror: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "web-svc-east",
      namespace: "emojivoto",
      labels: { "mirror.linkerd.io/mirrored-service": "true", "mirror.linkerd.io/cluster-name": "east" },
    },
  };
  const withMirror = converged.map((f) => (f.cluster === "west" ? { ...f, mirrors: [mirror] } : f));
  const unlinked = await eastWest({ clusters: THREE, links: [{ from: "north", to: "east" }] });
  const p = planFacts(unlinked, withMirror, { previous: declarationsOf(topology) });
  const west = clusterPlan(p, "west");
  assert.equal(west.blocked, undefined, "dropping 1 of 2 links is no mass removal, and every deletion is explained");
  assert.deepEqual(west.findings, []);
  const deletes = actionIds(west);
  assert.equal(deletes.length, 11, deletes.join("\n"));
  assert.ok(deletes.every((d) => d.startsWith("delete ")));
  assert.deepEqual(deletes.slice(0, 2), [
    "delete Deployment linkerd-multicluster/controller-east",
    "delete Link linkerd-multicluster/east",
  ]);
  assert.ok(deletes.includes("delete Service emojivoto/web-svc-east"), "the mirror the unlink leaves behind");
  assert.equal(deletes.at(-1), "delete ServiceAccount linkerd-multicluster/controller-east");
  assert.deepEqual(actionIds(clusterPlan(p, "east")), [
    "delete ClusterRoleBinding linkerd-service-mirror-remote-access-west",
    "delete ClusterRole linkerd-service-mirror-remote-access-west",
    "delete ServiceAccount linkerd-multicluster/linkerd-service-mirror-remote-access-west",
  ]);
  assert.deepEqual(actionIds(clusterPlan(p, "north")), []);
});

test("dropping both links at once is a mass removal (XL641) that blocks every cluster; --allow-mass-prune makes it info", async () => {
  const { topology, converged } = await threeClusters();
  const none = await eastWest({ clusters: THREE, links: [], exports: [] });
  const blocked = planFacts(none, converged, { previous: declarationsOf(topology) });
  for (const c of blocked.clusters) {
    assert.ok(c.blocked, `${c.cluster} blocked`);
    assert.deepEqual(
      c.findings.map((f) => [f.code, f.severity]),
      [["XL641", "error"]],
      c.cluster,
    );
  }
  const allowed = planFacts(none, converged, { previous: declarationsOf(topology), allowMassPrune: true });
  for (const c of allowed.clusters) {
    assert.equal(c.blocked, undefined);
    assert.deepEqual(
      c.findings.map((f) => [f.code, f.severity]),
      [["XL641", "info"]],
      c.cluster,
    );
  }
  assert.equal(clusterPlan(allowed, "west").actions.length, 10);
});

test("a deletion no declared change explains (XL642) blocks that cluster only", async () => {
  const { topology, converged } = await threeClusters();
  const stray: KubeObject = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name: "stray",
      namespace: "linkerd-multicluster",
      labels: {
        "app.kubernetes.io/managed-by": "crosslink",
        "crosslink.dev/topology": "mesh",
        "crosslink.dev/link": "west.east",
      },
    },
  };
  const facts = converged.map((f) => (f.cluster === "west" ? { ...f, owned: [...f.owned, stray] } : f));
  const p = planFacts(topology, facts, { previous: declarationsOf(topology) });
  const west = clusterPlan(p, "west");
  assert.deepEqual(actionIds(west), ["delete ServiceAccount linkerd-multicluster/stray"]);
  assert.ok(west.blocked);
  assert.deepEqual(
    west.findings.map((f) => f.code),
    ["XL642"],
  );
  assert.equal(clusterPlan(p, "east").blocked, undefined);
});

test("an unreachable cluster gets an error and no actions; the other cluster keeps that link's objects", async () => {
  const topology = await eastWest();
  const converged = applyAll(topology, await freshMesh());
  const p = planFacts(topology, [converged[1]!], { unreachable: ["east"] });
  assert.deepEqual(clusterPlan(p, "east"), {
    cluster: "east",
    error: "connect ECONNREFUSED",
    actions: [],
    findings: [],
    unchanged: 0,
    ownedCount: 0,
  });
  const west = clusterPlan(p, "west");
  assert.deepEqual(actionIds(west), [], "nothing of west→east is deleted or rotated");
  assert.deepEqual(
    west.findings.map((f) => f.code),
    ["XL606"],
  );
});

test("credentials near expiry are rotated; a drifted Linkerd-namespace credential Secret is replaced (the destination reads it only on create), values sensitive", async () => {
  const topology = await eastWest();
  const converged = applyAll(topology, await freshMesh());
  const later = new Date(NOW.getTime() + 20 * 3600 * 1000);
  assert.equal(hasChanges(planFacts(topology, converged)), false);
  const rotate = clusterPlan(planFacts(topology, converged, { now: later }), "west");
  assert.deepEqual(actionIds(rotate), ["credentials west→east"]);
  const action = rotate.actions[0]!;
  assert.ok(action.type === "credentials" && action.issue.op === "rotate");
  assert.match(action.reason, /under half its TTL/);
  assert.deepEqual(action.issue.restart?.name, "controller-east");
  // The destination controller's copy drifted while the mirror controller's still holds a good token: Linkerd's
  // ClusterStore ignores in-place updates, so it is recreated (decision 11), values hidden.
  const secret = converged[1]!.owned.find((o) => o.kind === "Secret" && o.metadata.namespace === "linkerd")!;
  const changed = serverSideApply(secret, { ...secret, data: { kubeconfig: "b3RoZXI=" } });
  const west = clusterPlan(
    planFacts(topology, [
      converged[0]!,
      { ...converged[1]!, owned: converged[1]!.owned.map((o) => (o === secret ? changed : o)) },
    ]),
    "west",
  );
  const replace = west.actions.find((a) => a.type === "replace" && a.ref.kind === "Secret");
  assert.ok(replace && replace.type === "replace");
  assert.equal(replace.ref.namespace, "linkerd");
  assert.deepEqual(
    replace.changes.map((c) => [formatPath(c.path), c.sensitive]),
    [["data.kubeconfig", true]],
  );
});

test("trust bundle with manageTrust: forced updates of both ConfigMaps; applied, the next plan is a no-op", async () => {
  const { other } = await testPki();
  const topology = await eastWest({ manageTrust: true });
  const east = await healthy({
    cluster: "east",
    services: ["emojivoto/web-svc"],
    linkerd: { anchorsPem: other.certPem },
  });
  const facts = [east, await healthy({ cluster: "west" })];
  const p = clusterPlan(planFacts(topology, facts), "east");
  const trust = p.actions.filter((a) => a.type === "update" && a.ref.kind === "ConfigMap");
  assert.deepEqual(
    trust.map((a) => (a.type === "update" ? [a.ref.name, a.force] : [])),
    [
      ["linkerd-config", true],
      ["linkerd-identity-trust-roots", true],
    ],
  );
  assert.deepEqual(
    p.findings.map((f) => f.code),
    ["XL633"],
  );
  const converged = converge(topology, facts, planFacts(topology, facts));
  const again = planFacts(topology, converged);
  assert.equal(hasChanges(again), false);
  assert.deepEqual(clusterPlan(again, "east").findings, []);
});
