/** Render of splits without a server: each split API, the order of preference, versions, mirror names, findings. */
import assert from "node:assert/strict";
import test from "node:test";
import { SPLIT_APIS } from "../../../../src/extensions/split-apis.js";
import type { Topology } from "../../../../src/topology/types.js";
import { allServed, type FactsSpec } from "../../../support/facts.js";
import { eastWest, healthy, renderFacts, webSplit } from "../mesh.js";

const split = (extra: Record<string, unknown> = {}) => ({ ...webSplit(75, 25), ...extra });

/** West's desired state, with east observed as a healthy cluster exporting web-svc. */
async function renderWest(topology: Topology, west: FactsSpec) {
  return renderFacts(topology, [
    await healthy({ cluster: "east", services: ["emojivoto/web-svc"] }),
    await healthy(west),
  ]).get("west")!;
}

const notServed = (...groups: string[]) =>
  Object.fromEntries(Object.entries(allServed()).map(([g, v]) => [g, groups.includes(g) ? [] : v]));

for (const row of SPLIT_APIS) {
  test(`split api ${row.api}: a ${row.kind} of ${row.group}/${row.versions[0]} with local and mirrored backends`, async () => {
    const topology = await eastWest({ splits: [split({ api: row.api })] });
    const west = await renderWest(topology, { cluster: "west", services: ["emojivoto/web-svc"] });
    const routes = west.objects.filter((o) => o.kind === row.kind);
    assert.equal(routes.length, 1);
    const route = routes[0]!;
    assert.equal(route.apiVersion, `${row.group}/${row.versions[0]}`);
    assert.deepEqual([route.metadata.namespace, route.metadata.name], ["emojivoto", "web-svc-split"]);
    const body = JSON.stringify(route.spec);
    assert.match(body, /"web-svc-east"/, "the remote backend is east's mirror");
    assert.match(body, /75/);
    assert.match(body, /25/);
    assert.deepEqual(west.findings, []);
  });
}

test("without `api`, the first served API in the table's order; a preferred version not served falls back to the newest served", async () => {
  const topology = await eastWest({ splits: [split()] });
  for (let i = 0; i < SPLIT_APIS.length; i++) {
    const served = notServed(...SPLIT_APIS.slice(0, i).map((a) => a.group));
    const west = await renderWest(topology, { cluster: "west", services: ["emojivoto/web-svc"], served });
    const route = west.objects.find((o) => o.metadata.name === "web-svc-split")!;
    assert.equal(route.apiVersion, `${SPLIT_APIS[i]!.group}/${SPLIT_APIS[i]!.versions[0]}`);
  }
  const first = SPLIT_APIS[0];
  const west = await renderWest(topology, {
    cluster: "west",
    services: ["emojivoto/web-svc"],
    served: { ...allServed(), [first.group]: ["v9beta1"] },
  });
  assert.equal(west.objects.find((o) => o.metadata.name === "web-svc-split")!.apiVersion, `${first.group}/v9beta1`);
});

test("an API not served: XL621 and no route; a missing Service: XL622 and a route without port", async () => {
  const topology = await eastWest({ splits: [split({ api: "smi" })] });
  const none = await renderWest(topology, {
    cluster: "west",
    services: ["emojivoto/web-svc"],
    served: notServed("split.smi-spec.io"),
  });
  assert.deepEqual(
    none.findings.map((f) => [f.code, f.severity]),
    [["XL621", "error"]],
  );
  assert.equal(
    none.objects.some((o) => o.metadata.name === "web-svc-split"),
    false,
  );
  const noService = await renderWest(await eastWest({ splits: [split({ api: "gateway" })] }), { cluster: "west" });
  assert.deepEqual(
    noService.findings.map((f) => f.code),
    ["XL622"],
  );
  assert.doesNotMatch(
    JSON.stringify(noService.objects.find((o) => o.metadata.name === "web-svc-split")!.spec),
    /"port"/,
  );
});

test("a backend exported as federated resolves to <service>-federated", async () => {
  const topology = await eastWest({
    exports: [{ cluster: "east", namespace: "emojivoto", services: ["web-svc"], mode: "federated" }],
    splits: [split({ api: "linkerd" })],
  });
  const west = await renderWest(topology, { cluster: "west", services: ["emojivoto/web-svc"] });
  assert.match(
    JSON.stringify(west.objects.find((o) => o.metadata.name === "web-svc-split")!.spec),
    /"web-svc-federated"/,
  );
});
