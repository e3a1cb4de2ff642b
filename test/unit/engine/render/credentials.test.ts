/** Render of link credentials without a server: kept while good, issued or rotated otherwise, and why. */
import assert from "node:assert/strict";
import test from "node:test";
import { credentialSecrets, credentialsKubeconfig } from "../../../../src/engine/render/credentials.js";
import type { KubeObject } from "../../../../src/kube/object.js";
import type { Topology } from "../../../../src/topology/types.js";
import { serverSideApply, testToken } from "../../../support/facts.js";
import { eastWest, healthy, NOW, renderFacts } from "../mesh.js";

const DAY = 86_400;

/** West holding credentials for east with `token`, as crosslink wrote them (server and user as given). */
async function westWithCredentials(
  topology: Topology,
  token: string,
  server = "https://east.test:6443",
  extra: KubeObject[] = [],
) {
  const link = topology.links[0]!;
  const [from, to] = [
    topology.clusters.find((c) => c.name === "west")!,
    topology.clusters.find((c) => c.name === "east")!,
  ];
  const kubeconfig = credentialsKubeconfig(
    { server, name: "east", user: "linkerd-service-mirror-remote-access-west" },
    token,
  );
  const owned = [
    ...credentialSecrets(topology.name, link, from, to, undefined, kubeconfig).map((s) =>
      serverSideApply(undefined, s),
    ),
    ...extra,
  ];
  return healthy({ cluster: "west", owned });
}

async function renderWest(topology: Topology, west: Awaited<ReturnType<typeof healthy>>) {
  return renderFacts(topology, [await healthy({ cluster: "east", services: ["emojivoto/web-svc"] }), west]).get(
    "west",
  )!;
}

test("a token with more than half its TTL left is kept: the Secrets are desired as they are, nothing is issued", async () => {
  const topology = await eastWest();
  const token = testToken(NOW, DAY * 0.6);
  const west = await renderWest(topology, await westWithCredentials(topology, token));
  assert.equal(west.credentials.length, 0);
  const secrets = west.objects.filter((o) => o.kind === "Secret");
  assert.equal(secrets.length, 2);
  for (const s of secrets)
    assert.match(
      Buffer.from((s.data as { kubeconfig: string }).kubeconfig, "base64").toString(),
      new RegExp(token.replace(/\./g, "\\.")),
    );
});

test("credentials are issued again, with the reason, when the token runs low or expired, or the server changed", async () => {
  const topology = await eastWest();
  const cases: [string, string, string | undefined][] = [
    ["low", testToken(NOW, DAY * 0.4), undefined],
    ["expired", testToken(NOW, -60), undefined],
    ["server", testToken(NOW, DAY), "https://old.test:6443"],
    ["long-lived", testToken(NOW), undefined],
  ];
  const reasons: string[] = [];
  for (const [, token, server] of cases) {
    const west = await renderWest(topology, await westWithCredentials(topology, token, server));
    assert.equal(west.credentials.length, 1);
    assert.equal(west.credentials[0]!.op, "rotate");
    assert.equal(
      west.objects.some((o) => o.kind === "Secret"),
      false,
      "no stale Secret is desired",
    );
    assert.equal(west.keep.size, 2, "the live Secrets are kept until apply rewrites them");
    reasons.push(west.credentials[0]!.reason);
  }
  assert.match(reasons[0]!, /left, under half its TTL/);
  assert.equal(reasons[1], "token expired");
  assert.match(reasons[2]!, /target API server changed \(https:\/\/old\.test:6443 → https:\/\/east\.test:6443\)/);
  assert.match(reasons[3]!, /no expiry/);
});

test("a rotation restarts the managed controller; an external one gets XL607 instead", async () => {
  const deployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "controller-east", namespace: "linkerd-multicluster" },
  };
  const managed = await eastWest();
  const west = await renderWest(
    managed,
    await westWithCredentials(managed, testToken(NOW, 60), undefined, [deployment]),
  );
  assert.deepEqual(west.credentials[0]!.restart, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: "linkerd-multicluster",
    name: "controller-east",
  });
  const external = await eastWest({ links: [{ from: "west", to: "east", controller: "external" }] });
  const ext = await renderWest(external, await westWithCredentials(external, testToken(NOW, 60)));
  assert.equal(ext.credentials[0]!.restart, undefined);
  assert.deepEqual(
    ext.findings.map((f) => f.code),
    ["XL607"],
  );
});

test("service-account-token credentials keep a long-lived token and replace a bounded one", async () => {
  const topology = await eastWest({
    links: [{ from: "west", to: "east", credentials: { mode: "service-account-token" } }],
  });
  assert.equal((await renderWest(topology, await westWithCredentials(topology, testToken(NOW)))).credentials.length, 0);
  const bounded = await renderWest(topology, await westWithCredentials(topology, testToken(NOW, DAY)));
  assert.equal(bounded.credentials[0]!.reason, "switching to a service-account-token Secret");
});
