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

test("token expiry is judged by the target API server's clock: a skewed local clock neither renews early nor late (XL609)", async () => {
  const topology = await eastWest();
  const HOUR = 3600_000;
  const renderWith = async (token: string, clockOffsetMs: number | undefined) => {
    const east = await healthy({ cluster: "east", services: ["emojivoto/web-svc"] });
    if (clockOffsetMs !== undefined) east.clockOffsetMs = clockOffsetMs;
    return renderFacts(topology, [east, await westWithCredentials(topology, token)]).get("west")!;
  };
  // 60% of a day left by east's clock; this machine runs 3 h ahead (east's clock is 3 h behind it).
  const ahead = await renderWith(testToken(new Date(NOW.getTime() - 3 * HOUR), DAY * 0.6), -3 * HOUR);
  assert.equal(ahead.credentials.length, 0, "kept: by east's clock more than half the TTL is left");
  const xl609 = ahead.findings.find((f) => f.code === "XL609");
  assert.equal(xl609?.severity, "warning");
  assert.match(xl609!.message, /clock is 3h ahead of east's API server/);
  // Only 40% left by east's clock; this machine runs 3 h behind: renewed, though its own clock sees 52% left.
  const behind = await renderWith(testToken(new Date(NOW.getTime() + 3 * HOUR), DAY * 0.4), 3 * HOUR);
  assert.equal(behind.credentials.length, 1);
  assert.match(behind.credentials[0]!.reason, /9h36m left, under half its TTL/);
  assert.match(behind.findings.find((f) => f.code === "XL609")!.message, /3h behind east's API server/);
  // Within a minute: no finding, and the offset still counts.
  const close = await renderWith(testToken(NOW, DAY * 0.6), 59_000);
  assert.equal(close.findings.filter((f) => f.code === "XL609").length, 0);
  assert.equal(close.credentials.length, 0);
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
