/**
 * clusterAccess with the access in use: a cluster reached the same way (same kubeconfig, name and context) keeps
 * its client; a new cluster, a changed context or another kubeconfig gets a new one; close(keep) spares the kept.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterAccess } from "../../../src/kube/access.js";
import { Kubeconfig } from "../../../src/kube/kubeconfig.js";
import type { Topology } from "../../../src/topology/types.js";

/** Two contexts, a and b, on loopback servers nothing listens on (no request is sent). */
function kubeconfig(): Kubeconfig {
  const kc = new Kubeconfig();
  kc.loadFromOptions({
    clusters: [
      { name: "a", server: "https://127.0.0.1:1", skipTLSVerify: false },
      { name: "b", server: "https://127.0.0.1:2", skipTLSVerify: false },
    ],
    users: [{ name: "u", token: "t" }],
    contexts: [
      { name: "a", cluster: "a", user: "u" },
      { name: "b", cluster: "b", user: "u" },
    ],
    currentContext: "a",
  });
  return kc;
}

/** The part of a topology clusterAccess reads: its clusters' names and contexts. */
const topology = (...clusters: [string, string][]): Topology =>
  ({
    clusters: clusters.map(([name, context]) => ({ name, context })),
    positions: () => undefined,
  }) as unknown as Topology;

test("clusterAccess(previous): unchanged clusters keep their client; new, re-pointed or other-kubeconfig ones are built", () => {
  const kc = kubeconfig();
  const first = clusterAccess(topology(["w1", "a"], ["w2", "b"]), kc);
  const second = clusterAccess(topology(["w1", "a"], ["w2", "a"], ["w3", "b"]), kc, undefined, undefined, first);
  assert.equal(second.clients.get("w1"), first.clients.get("w1"), "same name and context: kept");
  assert.notEqual(second.clients.get("w2"), first.clients.get("w2"), "context changed: built");
  assert.equal(second.clients.get("w2")!.server, "https://127.0.0.1:1");
  assert.ok(second.clients.get("w3"), "new cluster: built");
  const closed: string[] = [];
  for (const [name, c] of first.clients) c.close = () => closed.push(name);
  first.close(new Set(second.clients.values()));
  assert.deepEqual(closed, ["w2"], "the old access closes only what the new one does not hold");
  const reloaded = clusterAccess(topology(["w1", "a"]), kubeconfig(), undefined, undefined, second);
  assert.notEqual(reloaded.clients.get("w1"), second.clients.get("w1"), "another kubeconfig: nothing kept");
  for (const a of [second, reloaded]) a.close();
});
