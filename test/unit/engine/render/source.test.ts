/** Render of a link without a server: the target's access objects, the source's Link, controller and findings. */
import assert from "node:assert/strict";
import test from "node:test";
import { EXPORT_MODES } from "../../../../src/extensions/export-modes.js";
import { LINK_GROUP } from "../../../../src/kube/kinds.js";
import { allServed } from "../../../support/facts.js";
import { eastWest, healthy, ids, renderFacts } from "../mesh.js";

const MC = "linkerd-multicluster";

test("a link: remote access in `to`; Link, managed controller and a credentials issue in `from`", async () => {
  const topology = await eastWest();
  const out = renderFacts(topology, [
    await healthy({ cluster: "east", services: ["emojivoto/web-svc"] }),
    await healthy({ cluster: "west" }),
  ]);
  const east = out.get("east")!;
  const west = out.get("west")!;
  assert.deepEqual(ids(east.objects), [
    "ClusterRole linkerd-service-mirror-remote-access-west",
    "ClusterRoleBinding linkerd-service-mirror-remote-access-west",
    `ServiceAccount ${MC}/linkerd-service-mirror-remote-access-west`,
  ]);
  assert.deepEqual(ids(west.objects), [
    "ClusterRole linkerd-multicluster-controller-access-local-resources",
    "ClusterRoleBinding linkerd-multicluster-controller-access-local-resources-east",
    `Deployment ${MC}/controller-east`,
    `Link ${MC}/east`,
    `Role ${MC}/controller-read-remote-creds-east`,
    `RoleBinding ${MC}/controller-read-remote-creds-east`,
    `Service ${MC}/probe-east`,
    `ServiceAccount ${MC}/controller-east`,
  ]);
  for (const o of [...east.objects, ...west.objects]) {
    assert.equal(o.metadata.labels?.["app.kubernetes.io/managed-by"], "crosslink");
    assert.equal(o.metadata.labels?.["crosslink.dev/topology"], "mesh");
  }
  const link = west.objects.find((o) => o.kind === "Link")!;
  assert.equal(link.apiVersion, `${LINK_GROUP}/v1alpha3`);
  const spec = link.spec as Record<string, unknown>;
  assert.equal(spec.targetClusterName, "east");
  assert.equal(spec.gatewayAddress, "198.51.100.4");
  assert.equal(spec.gatewayPort, "4143");
  for (const m of EXPORT_MODES) assert.deepEqual(spec[m.linkSelector], { matchLabels: { [m.label]: m.value } }, m.mode);
  assert.equal(west.credentials.length, 1);
  const issue = west.credentials[0]!;
  assert.equal(issue.op, "create");
  assert.equal(issue.mode, "token-request");
  assert.equal(issue.kubeconfig.server, "https://east.test:6443");
  assert.deepEqual(ids(issue.secrets), [
    "Secret linkerd-multicluster/cluster-credentials-east",
    "Secret linkerd/cluster-credentials-east",
  ]);
  assert.deepEqual(west.findings, []);
  assert.deepEqual(east.findings, []);
});

test("the Link's version and selectors follow what the source serves", async () => {
  const topology = await eastWest({ links: [{ from: "west", to: "east", excludedLabels: ["team"] }] });
  const east = await healthy({ cluster: "east" });
  for (const [versions, federated, excluded, finding] of [
    [["v1alpha3", "v1alpha2"], true, true, undefined],
    [["v1alpha2"], true, false, "XL605"],
    [["v1alpha1"], false, false, "XL605"],
  ] as const) {
    const west = await healthy({ cluster: "west", served: { ...allServed(), [LINK_GROUP]: versions } });
    const d = renderFacts(topology, [east, west]).get("west")!;
    const link = d.objects.find((o) => o.kind === "Link")!;
    assert.equal(link.apiVersion, `${LINK_GROUP}/${versions[0]}`);
    const spec = link.spec as Record<string, unknown>;
    assert.equal("federatedServiceSelector" in spec, federated, versions[0]);
    assert.equal("excludedLabels" in spec, excluded, versions[0]);
    assert.deepEqual(
      d.findings.map((f) => f.code),
      finding ? [finding] : [],
    );
  }
});

test("controller: external renders no controller objects; the topology's apiServer goes into the kubeconfig", async () => {
  const topology = await eastWest({
    clusters: [{ name: "east", apiServer: "https://east.example:443" }, { name: "west" }],
    links: [{ from: "west", to: "east", controller: "external" }],
  });
  const west = renderFacts(topology, [await healthy({ cluster: "east" }), await healthy({ cluster: "west" })]).get(
    "west",
  )!;
  assert.deepEqual(ids(west.objects), ["Link linkerd-multicluster/east"]);
  assert.equal(west.credentials[0]!.kubeconfig.server, "https://east.example:443");
});

test("service-account-token credentials: a token Secret in `to`, and the issue reads it", async () => {
  const topology = await eastWest({
    links: [{ from: "west", to: "east", credentials: { mode: "service-account-token" } }],
  });
  const out = renderFacts(topology, [await healthy({ cluster: "east" }), await healthy({ cluster: "west" })]);
  const token = out.get("east")!.objects.find((o) => o.kind === "Secret")!;
  assert.equal(token.type, "kubernetes.io/service-account-token");
  assert.equal(
    token.metadata.annotations?.["kubernetes.io/service-account.name"],
    "linkerd-service-mirror-remote-access-west",
  );
  const issue = out.get("west")!.credentials[0]!;
  assert.equal(issue.mode, "service-account-token");
  assert.equal(issue.target.tokenSecret, token.metadata.name);
});

test("what the target lacks stops the Link with a located finding: XL601–XL604", async () => {
  const topology = await eastWest();
  const cases = [
    ["XL601", { cluster: "west", served: { ...allServed(), [LINK_GROUP]: [] } }, { cluster: "east" }],
    ["XL602", { cluster: "west" }, { cluster: "east", gateway: false }],
    ["XL603", { cluster: "west" }, { cluster: "east", gateway: { addresses: [] } }],
    ["XL604", { cluster: "west" }, { cluster: "east", gateway: { identity: false } }],
  ] as const;
  for (const [code, westSpec, eastSpec] of cases) {
    const west = renderFacts(topology, [await healthy(eastSpec), await healthy(westSpec)]).get("west")!;
    assert.deepEqual(
      west.findings.map((f) => f.code),
      [code],
    );
    assert.equal(west.findings[0]!.severity, "error");
    assert.equal(
      west.objects.some((o) => o.kind === "Link"),
      false,
      code,
    );
  }
});

test("a target that was not observed (XL606) or has no Linkerd (XL631): the link's live objects are kept, not pruned", async () => {
  const topology = await eastWest();
  const liveLink = {
    apiVersion: `${LINK_GROUP}/v1alpha3`,
    kind: "Link",
    metadata: { name: "east", namespace: MC, labels: { "crosslink.dev/link": "west.east" } },
  };
  const west = await healthy({ cluster: "west", owned: [liveLink] });
  const unobserved = renderFacts(topology, [west]).get("west")!;
  assert.deepEqual(
    unobserved.findings.map((f) => f.code),
    ["XL606"],
  );
  assert.deepEqual([...unobserved.keep], [`${LINK_GROUP}/Link/${MC}/east`]);
  assert.equal(unobserved.credentials.length, 0);
  const noLinkerd = renderFacts(topology, [
    await healthy({ cluster: "east", linkerd: false, services: ["emojivoto/web-svc"] }),
    west,
  ]);
  assert.deepEqual(
    noLinkerd.get("west")!.findings.map((f) => f.code),
    ["XL606"],
  );
  assert.deepEqual(
    noLinkerd.get("east")!.findings.map((f) => f.code),
    ["XL631"],
  );
});
