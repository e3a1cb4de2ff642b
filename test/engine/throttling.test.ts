/**
 * Retries against a real, throttling API server: clusters started with
 * --max-requests-inflight=1 answer 429 (with Retry-After) to parallel
 * requests; the client retries, and apply still converges. The API server
 * exempts system:masters from that limit, so crosslink talks to the clusters
 * as a cluster-admin ServiceAccount here, as it would in a real deployment.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { clusterAccess, clientForContext, loadKubeConfig, type ClusterAccess } from "../../src/kube/access.js";
import { applyOnce, exampleTopology } from "./support.js";

let clusters: StartedClusters;
let acc: ClusterAccess;

before(async () => {
  clusters = await startClusters(["east", "west"], {
    log: () => {},
    apiServerArgs: ["--max-requests-inflight=1", "--max-mutating-requests-inflight=1"],
  });
  const admin = loadKubeConfig(clusters.kubeconfigPath);
  const users: { name: string; user: { token: string } }[] = [];
  for (const name of ["east", "west"]) {
    const c = clientForContext(admin, name, name)!;
    const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "crosslink", namespace: "default" } };
    await c.apply(sa, { fieldManager: "test" });
    await c.apply(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "crosslink-admin" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ kind: "ServiceAccount", name: "crosslink", namespace: "default" }],
      },
      { fieldManager: "test" },
    );
    users.push({ name: `${name}-sa`, user: { token: (await c.createToken("default", "crosslink", 3600)).token } });
    c.close();
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters,
    users: users.map((u) => ({ name: u.name, token: u.user.token })),
    contexts: ["east", "west"].map((n) => ({ name: n, cluster: admin.getContextObject(n)!.cluster, user: `${n}-sa` })),
    currentContext: "east",
  });
  const file = path.join(clusters.dir, "sa-kubeconfig");
  await writeFile(file, kc.exportConfig());
  // The default retry policy: 4 attempts, honouring Retry-After.
  acc = clusterAccess(await exampleTopology("east-west", clusters.trustAnchorPem), loadKubeConfig(file));
});

after(async () => {
  acc?.close();
  await clusters?.stop();
});

test("parallel requests to a throttling API server are retried after 429", async () => {
  const west = acc.clients.get("west")!;
  const results = await Promise.allSettled(
    Array.from({ length: 40 }, () => west.list("v1", "Service", { namespace: "emojivoto" })),
  );
  assert.ok(west.counters.retries > 0, "the server throttled and the client retried");
  const ok = results.filter((r) => r.status === "fulfilled").length;
  assert.ok(ok >= 30, `${ok} of 40 reads succeeded after retrying`);
});

test("apply converges against throttling API servers", async () => {
  const topology = await exampleTopology("east-west", clusters.trustAnchorPem);
  const r = await applyOnce(topology, acc);
  const failures = r.changes.clusters.flatMap((c) => [
    c.error ?? "",
    ...c.results.filter((x) => x.error).map((x) => x.error),
  ]);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    failures.join("\n"),
  );
  assert.equal((await applyOnce(topology, acc)).writes, 0);
});
