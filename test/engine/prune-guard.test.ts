/**
 * The prune guard's rule, pure (no server): what the topology dropped is an
 * ordinary change, more than half of the links, exports or clusters at once is
 * XL641, a deletion whose origin is still declared (or unknown) is XL642; and
 * plan() runs it over its own deletions with the previous declarations
 * reconstructed from live labels when none is given.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import {
  declarationsFromLive,
  declarationsOf,
  parseLinkLabel,
  type Declarations,
} from "../../src/engine/plan/declarations.js";
import { plan } from "../../src/engine/plan/plan.js";
import {
  massRemovals,
  pruneGuard,
  unexplainedDeletions,
  type PlannedDeletion,
} from "../../src/engine/plan/prune-guard.js";
import type { ClusterFacts, ClusterObservation } from "../../src/engine/facts.js";
import { linkNames } from "../../src/engine/names.js";
import { owned } from "../../src/engine/render/meta.js";
import type { DesiredCluster } from "../../src/engine/render/desired.js";
import { refOf, type KubeObject } from "../../src/kube/object.js";
import { exampleTopology, ROOT } from "./support.js";

const PEM = readFileSync(path.join(ROOT, "test/fixtures/topology/anchors/root.crt"), "utf8");
const MC = "linkerd-multicluster";
type Doc = Parameters<NonNullable<Parameters<typeof exampleTopology>[2]>>[0];
const regions = async (edit?: (d: Doc) => void) => declarationsOf(await exampleTopology("three-regions", PEM, edit));
const dropLinks = (n: number) => (d: Doc) => {
  for (let i = 0; i < n; i++) d.deleteIn(["spec", "links", 0]);
};

/** The objects crosslink renders for link from→to (managed controller), in `from` and in `to`. */
function linkObjects(from: string, to: string): { source: KubeObject[]; target: KubeObject[] } {
  const n = linkNames(from, to);
  const o = (apiVersion: string, kind: string, name: string, ns: string | undefined) =>
    owned("three-regions", apiVersion, kind, name, ns, {}, { link: n.linkLabel });
  const rbac = "rbac.authorization.k8s.io/v1";
  return {
    source: [
      o("multicluster.linkerd.io/v1alpha3", "Link", n.link, MC),
      o("v1", "Secret", n.credentials, MC),
      o("v1", "Secret", n.credentials, "linkerd"),
      o("v1", "ServiceAccount", n.controller, MC),
      o(rbac, "ClusterRoleBinding", n.controllerClusterRoleBinding, undefined),
      o(rbac, "Role", n.controllerRole, MC),
      o(rbac, "RoleBinding", n.controllerRole, MC),
      o("apps/v1", "Deployment", n.controller, MC),
      o("v1", "Service", n.probeService, MC),
    ],
    target: [
      o("v1", "ServiceAccount", n.remoteAccess, MC),
      o(rbac, "ClusterRole", n.remoteAccess, undefined),
      o(rbac, "ClusterRoleBinding", n.remoteAccess, undefined),
    ],
  };
}

const deletion = (cluster: string, object: KubeObject): PlannedDeletion => ({
  cluster,
  ref: refOf(object),
  labels: object.metadata.labels ?? {},
});

test("one link of six removed is an ordinary change; four of six is XL641 unless allowed", async () => {
  const all = await regions();
  assert.deepEqual(massRemovals(all, await regions(dropLinks(1))), []);
  assert.deepEqual(massRemovals(all, await regions(dropLinks(3))), [], "half is not over half");
  const four = massRemovals(all, await regions(dropLinks(4)));
  assert.deepEqual(
    four.map((f) => `${f.severity} ${f.code}`),
    ["error XL641"],
  );
  assert.match(
    four[0]!.message,
    /^4 of 6 links removed \(67%\) compared with the previous topology: eu-west→ap-south, eu-west→us-east, us-east→ap-south, us-east→eu-west$/,
  );
  const allowed = massRemovals(all, await regions(dropLinks(4)), "the trailer");
  assert.deepEqual(
    allowed.map((f) => `${f.severity} ${f.code}`),
    ["info XL641"],
  );
  assert.match(allowed[0]!.message, /allowed by the trailer$/);
});

test("exports and clusters count like links; a first topology (nothing before) drops nothing", async () => {
  const all = await regions();
  const exportsGone = massRemovals(
    all,
    await regions((d) => [3, 2, 1].forEach((i) => d.deleteIn(["spec", "exports", i]))),
  );
  assert.deepEqual(
    exportsGone.map((f) => f.message.split(":")[0]),
    ["3 of 4 exports removed (75%) compared with the previous topology"],
  );
  const one = await regions((d) => {
    d.setIn(["spec", "clusters"], d.createNode([{ name: "us-east" }]));
    d.setIn(["spec", "links"], d.createNode([]));
    d.setIn(
      ["spec", "exports"],
      d.createNode([{ cluster: "us-east", namespace: "shop", services: ["checkout"], mode: "federated" }]),
    );
  });
  assert.deepEqual(
    massRemovals(all, one).map((f) => f.message.split(" compared")[0]),
    ["6 of 6 links removed (100%)", "3 of 4 exports removed (75%)", "2 of 3 clusters removed (67%)"],
  );
  const verdict = pruneGuard({ previous: undefined, next: all, deletions: [] });
  assert.deepEqual(verdict.findings, []);
  assert.equal(verdict.blockAll, undefined);
});

test("deletions of what the topology dropped are explained, even all of a cluster's objects", async () => {
  const next = await regions((d) => d.deleteIn(["spec", "links", 0])); // us-east → eu-west
  const { source, target } = linkObjects("us-east", "eu-west");
  const mirror: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "checkout-eu-west",
      namespace: "shop",
      labels: { "mirror.linkerd.io/mirrored-service": "true", "mirror.linkerd.io/cluster-name": "eu-west" },
    },
  };
  const deletions = [
    ...source.map((o) => deletion("us-east", o)),
    ...target.map((o) => deletion("eu-west", o)),
    deletion("us-east", mirror),
  ];
  assert.deepEqual(unexplainedDeletions(next, deletions), []);
});

test("a federated mirror is explained once no link of its members is declared", async () => {
  const fed: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "checkout-federated",
      namespace: "shop",
      labels: { "mirror.linkerd.io/mirrored-service": "true" },
    },
  };
  const gone = await regions((d) => d.deleteIn(["spec", "links", 0])); // us-east → eu-west
  assert.deepEqual(unexplainedDeletions(gone, [{ ...deletion("us-east", fed), federatedMembers: ["eu-west"] }]), []);
  const still = unexplainedDeletions(await regions(), [{ ...deletion("us-east", fed), federatedMembers: ["eu-west"] }]);
  assert.match(still[0]!.message, /checkout-federated \(a link of one of its members is still declared\)/);
  assert.equal(
    unexplainedDeletions(gone, [deletion("us-east", fed)]).length,
    1,
    "without its members it has no known origin",
  );
});

test("XL642: an origin still declared, a link in a cluster it does not involve, an unknown object", async () => {
  const next = await regions();
  const { source } = linkObjects("us-east", "eu-west");
  const stray = owned("three-regions", "v1", "ServiceAccount", "hand-made", MC, {});
  const findings = unexplainedDeletions(next, [
    deletion("us-east", source[0]!),
    deletion("ap-south", source[1]!),
    deletion("ap-south", stray),
  ]);
  assert.deepEqual(
    findings.map((f) => `${f.severity} ${f.code} ${f.cluster}`),
    ["error XL642 us-east", "error XL642 ap-south"],
  );
  assert.match(findings[0]!.message, /Link linkerd-multicluster\/eu-west \(link us-east→eu-west is still declared\)/);
  assert.match(
    findings[1]!.message,
    /Secret linkerd-multicluster\/cluster-credentials-eu-west \(labelled for link us-east→eu-west, which does not involve ap-south\)/,
  );
  assert.match(
    findings[1]!.message,
    /ServiceAccount linkerd-multicluster\/hand-made \(nothing a topology declares produces it\)/,
  );
  const verdict = pruneGuard({ previous: next, next, deletions: [deletion("us-east", source[0]!)] });
  assert.equal(verdict.blockAll, undefined);
  assert.deepEqual([...verdict.blocked.keys()], ["us-east"]);
  const allowed = pruneGuard({
    previous: next,
    next,
    deletions: [deletion("us-east", source[0]!)],
    allowedBy: "--allow-mass-prune",
  });
  assert.deepEqual(
    allowed.findings.map((f) => f.severity),
    ["info"],
  );
  assert.equal(allowed.blocked.size, 0);
});

test("a changed field of a declared link or split explains the objects it no longer produces", async () => {
  const { source } = linkObjects("us-east", "eu-west");
  const controller = source.filter((o) =>
    ["ServiceAccount", "Deployment", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Service"].includes(
      o.kind,
    ),
  );
  assert.equal(controller.length, 6);
  const external = await regions((d) => d.setIn(["spec", "links", 0, "controller"], "external"));
  assert.deepEqual(
    unexplainedDeletions(
      external,
      controller.map((o) => deletion("us-east", o)),
    ),
    [],
  );
  const managed = await regions();
  assert.equal(
    unexplainedDeletions(
      managed,
      controller.map((o) => deletion("us-east", o)),
    )[0]?.message.startsWith("6 deletion(s) in us-east"),
    true,
  );
  // token Secret of service-account-token credentials, after a change to token-request
  const token = owned(
    "three-regions",
    "v1",
    "Secret",
    linkNames("us-east", "eu-west").remoteAccessToken,
    MC,
    {},
    { link: "us-east.eu-west" },
  );
  assert.deepEqual(
    unexplainedDeletions(managed, [deletion("eu-west", token)]),
    [],
    "token-request (the default) renders no token Secret",
  );
  const saToken = await regions((d) =>
    d.setIn(["spec", "links", 0, "credentials"], d.createNode({ mode: "service-account-token" })),
  );
  assert.equal(unexplainedDeletions(saToken, [deletion("eu-west", token)]).length, 1);
  // a namespace moved
  const moved = await regions((d) => d.setIn(["spec", "defaults", "multiclusterNamespace"], "mc"));
  assert.deepEqual(
    unexplainedDeletions(
      moved,
      source.filter((o) => o.metadata.namespace === MC).map((o) => deletion("us-east", o)),
    ),
    [],
  );
  // a split: removed, or moved to another API, explains its route; still declared with no API does not
  const route = owned("three-regions", "gateway.networking.k8s.io/v1", "HTTPRoute", "checkout-split", "shop", {});
  const split = (api?: string) => (d: Doc) =>
    d.setIn(
      ["spec", "splits"],
      d.createNode([
        {
          cluster: "us-east",
          namespace: "shop",
          service: "checkout",
          ...(api ? { api } : {}),
          backends: [{ service: "checkout", weight: 1 }],
        },
      ]),
    );
  assert.deepEqual(unexplainedDeletions(managed, [deletion("us-east", route)]), []);
  assert.deepEqual(unexplainedDeletions(await regions(split("smi")), [deletion("us-east", route)]), []);
  assert.match(
    unexplainedDeletions(await regions(split()), [deletion("us-east", route)])[0]!.message,
    /split us-east\/shop\/checkout is still declared/,
  );
});

function facts(cluster: string, ownedObjects: KubeObject[], services: KubeObject[] = []): ClusterFacts {
  return {
    cluster,
    server: "https://127.0.0.1:1",
    served: {},
    owned: ownedObjects,
    services: new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s])),
    mirrors: [],
    linkNames: [],
    adoptable: [],
  };
}

function desiredOf(cluster: string, objects: KubeObject[]): DesiredCluster {
  return { cluster, objects, patches: [], credentials: [], keep: new Set(), findings: [] };
}

test("the live labels rebuild what was applied: links, splits, crosslink's export labels", () => {
  const { source, target } = linkObjects("us-east", "eu-west");
  const route = owned("three-regions", "split.smi-spec.io/v1alpha2", "TrafficSplit", "checkout-split", "shop", {});
  const exported: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "catalog",
      namespace: "shop",
      labels: { "mirror.linkerd.io/exported": "remote-discovery" },
      managedFields: [
        {
          manager: "crosslink",
          operation: "Apply",
          fieldsV1: { "f:metadata": { "f:labels": { "f:mirror.linkerd.io/exported": {} } } },
        },
      ],
    },
  };
  const byHand: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "shop", labels: { "mirror.linkerd.io/exported": "true" } },
  };
  const observations: ClusterObservation[] = [
    { cluster: "us-east", ok: true, facts: facts("us-east", [...source, route], [exported, byHand]) },
    { cluster: "eu-west", ok: true, facts: facts("eu-west", target) },
    { cluster: "ap-south", ok: false, error: "no answer" },
  ];
  const live: Declarations = declarationsFromLive(observations, "crosslink");
  assert.equal(live.source, "live");
  assert.deepEqual(live.links, [{ from: "us-east", to: "eu-west" }]);
  assert.deepEqual(live.splits, [{ cluster: "us-east", namespace: "shop", service: "checkout", api: "smi" }]);
  assert.deepEqual(live.exports, [{ cluster: "us-east", namespace: "shop", service: "catalog" }]);
  assert.deepEqual(
    live.clusters.map((c) => c.name),
    ["eu-west", "us-east"],
  );
  assert.deepEqual(parseLinkLabel("a.b.c"), undefined);
});

test("plan(): removing the only link of a cluster deletes its 9 objects and is not blocked; a topology emptied of links is", async () => {
  const { source, target } = linkObjects("us-east", "eu-west");
  const observations: ClusterObservation[] = ["us-east", "eu-west", "ap-south"].map((c) => ({
    cluster: c,
    ok: true,
    facts: facts(c, c === "us-east" ? source : c === "eu-west" ? target : []),
  }));
  const desired = new Map(["us-east", "eu-west", "ap-south"].map((c) => [c, desiredOf(c, [])]));
  const topology = await exampleTopology("three-regions", PEM, (d) => d.deleteIn(["spec", "links", 0]));
  const p = plan(topology, observations, desired, { fieldManager: "crosslink", allowMassPrune: false });
  const east = p.clusters.find((c) => c.cluster === "us-east")!;
  assert.equal(east.actions.filter((a) => a.type === "delete").length, 9);
  assert.equal(east.ownedCount, 9);
  assert.equal(east.blocked, undefined);
  assert.deepEqual(
    p.clusters.flatMap((c) => c.findings),
    [],
  );

  // the previous topology declared all six links; the new one declares none: XL641 blocks every cluster with actions
  const none = await exampleTopology("three-regions", PEM, (d) => d.setIn(["spec", "links"], d.createNode([])));
  const mass = plan(none, observations, desired, {
    fieldManager: "crosslink",
    allowMassPrune: false,
    previous: declarationsOf(await exampleTopology("three-regions", PEM)),
  });
  for (const c of mass.clusters.filter((x) => x.actions.length)) {
    assert.match(c.blocked ?? "", /6 of 6 links removed/);
    assert.deepEqual(
      c.findings.map((f) => `${f.severity} ${f.code}`),
      ["error XL641"],
    );
  }
  const allowed = plan(none, observations, desired, {
    fieldManager: "crosslink",
    allowMassPrune: true,
    previous: declarationsOf(await exampleTopology("three-regions", PEM)),
  });
  assert.ok(allowed.clusters.every((c) => !c.blocked));
  assert.match(allowed.clusters[0]!.findings[0]!.message, /allowed by --allow-mass-prune$/);

  // the same objects while the link is still declared: XL642 blocks us-east and eu-west only
  const all = await exampleTopology("three-regions", PEM);
  const stray = plan(all, observations, desired, { fieldManager: "crosslink", allowMassPrune: false });
  assert.deepEqual(
    stray.clusters.map((c) => [c.cluster, c.findings.map((f) => f.code).join(","), Boolean(c.blocked)]),
    [
      ["us-east", "XL642", true],
      ["eu-west", "XL642", true],
      ["ap-south", "", false],
    ],
  );
});

test("the shared controller role goes unremarked with a cluster's last managed link; an older per-link role always does", async () => {
  const n = linkNames("us-east", "eu-west");
  const rbac = "rbac.authorization.k8s.io/v1";
  const shared = owned(
    "three-regions",
    rbac,
    "ClusterRole",
    n.controllerClusterRole,
    undefined,
    {},
    { extension: true },
  );
  const legacy = owned(
    "three-regions",
    rbac,
    "ClusterRole",
    n.controllerClusterRoleBinding,
    undefined,
    {},
    { link: n.linkLabel },
  );
  const all = await regions();
  assert.match(
    unexplainedDeletions(all, [deletion("us-east", shared)])[0]?.message ?? "",
    /us-east still has a link with a managed controller/,
  );
  const external = await regions((d) => {
    for (const [i, l] of (d.toJS() as { spec: { links: { from: string }[] } }).spec.links.entries())
      if (l.from === "us-east") d.setIn(["spec", "links", i, "controller"], "external");
  });
  assert.deepEqual(unexplainedDeletions(external, [deletion("us-east", shared)]), []);
  assert.deepEqual(
    unexplainedDeletions(all, [deletion("us-east", legacy)]),
    [],
    "crosslink no longer renders a per-link controller role",
  );
});
