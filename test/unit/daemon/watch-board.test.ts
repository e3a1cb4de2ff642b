/**
 * WatchBoard's skip rule with a name read by plain GET (its LIST refused by RBAC): while such a read exists the
 * clients report no watch generation, so the loop skips no tick as unchanged; /status lists the name as
 * `get (list refused)`, /metrics has no watch gauge for it. Against real API servers: test/engine/linkerd-configmaps.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WatchBoard } from "../../../src/daemon/watches.js";
import { DaemonMetrics } from "../../../src/daemon/metrics.js";
import type { Topology } from "../../../src/topology/types.js";
import { KubeError } from "../../../src/kube/errors.js";
import type { KubeObject, ObjectRef } from "../../../src/kube/object.js";
import type { ListOptions, WatchOptions } from "../../../src/kube/port.js";
import type { WatchableClient } from "../../../src/kube/watch-cache.js";

/** A client whose LIST of a name is allowed only for `listable`; its watches open and stay open until aborted. */
function rbacClient(listable: string): WatchableClient {
  const none = () => Promise.reject(new Error("not used"));
  const cm = (name: string): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "linkerd", resourceVersion: "3" },
  });
  const client = {
    cluster: "east",
    server: "https://127.0.0.1:1",
    counters: { requests: 0, writes: 0, retries: 0, byVerb: {} },
    listVersioned: async (_a: string, _k: string, o?: ListOptions) => {
      const name = o?.fieldSelector?.replace("metadata.name=", "") ?? "";
      if (name !== listable) throw new KubeError("KUBE_FORBIDDEN", "list ConfigMap: forbidden", "east", 403);
      return { items: [cm(name)], resourceVersion: "3" };
    },
    watch: (_a: string, _k: string, o: WatchOptions) =>
      new Promise<void>((_, reject) => {
        o.onOpen?.();
        o.signal?.addEventListener("abort", () => reject(new Error("aborted")));
      }),
    get: async (ref: ObjectRef) => cm(ref.name),
    list: none,
    apply: none,
    delete: none,
    patch: none,
    createToken: none,
    servedVersions: none,
    discovery: none,
  };
  return client as unknown as WatchableClient;
}

test("a name read by GET (LIST refused): no watch generation, so no tick is skipped; /status says so", async () => {
  const metrics = new DaemonMetrics(false);
  const board = new WatchBoard(metrics, () => {});
  const factory = board.wrap(() => ({
    clients: new Map([["east", rbacClient("linkerd-config")]]),
    diagnostics: [],
    close: () => {},
  }));
  const access = factory({} as Topology);
  const client = access.clients.get("east")!;
  const ref = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace: "linkerd", name });

  assert.equal((await client.get(ref("linkerd-config")))?.metadata.name, "linkerd-config");
  const generation = access.watchGeneration?.();
  assert.equal(typeof generation, "number", "every read watched, the watch open: ticks may be skipped");

  assert.equal((await client.get(ref("linkerd-identity-trust-roots")))?.metadata.name, "linkerd-identity-trust-roots");
  assert.equal(access.watchGeneration?.(), undefined, "a read by GET: no generation, every tick reconciles");
  await client.get(ref("linkerd-identity-trust-roots"));
  assert.equal(access.watchGeneration?.(), undefined, "still: the name stays read by GET");

  const byGet = board.list().filter((w) => w.readBy);
  assert.deepEqual(
    byGet.map((w) => [w.fieldSelector, w.readBy, w.up, w.objects]),
    [["metadata.name=linkerd-identity-trust-roots", "get (list refused)", false, 1]],
  );
  const text = await metrics.registry.metrics();
  assert.match(text, /crosslink_watch_up\{[^}]*selector="metadata.name=linkerd-config"\} 1/);
  assert.doesNotMatch(text, /crosslink_watch_up\{[^}]*linkerd-identity-trust-roots/, "no watch, no watch gauge");

  access.close();
  assert.deepEqual(board.list(), [], "closing the clients releases both entries");
  board.stop();
});
