/**
 * The benchmark fleet shared by bench/engine.ts and bench/daemon.ts: N
 * harness clusters in a ring (links both ways), `perCluster` exported
 * Services in namespace `bench` in each, one split per cluster.
 */
import yaml from "js-yaml";
import type { ClusterClient } from "../src/kube/port.js";
import { loadTopology } from "../src/topology/index.js";
import type { Topology } from "../src/topology/types.js";
import { mapLimit } from "../src/util/concurrency.js";

/** The cluster names of a fleet of `n`. */
export function fleetNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `c${i}`);
}

/** The bench topology; `weight` is the local share of cluster c0's split (the others stay at 50); `empty` has no links, exports or splits. */
export function fleetYaml(names: readonly string[], perCluster: number, weight: number, empty = false): string {
  const N = names.length;
  const doc = {
    apiVersion: "crosslink.dev/v1alpha1",
    kind: "Topology",
    metadata: { name: "bench" },
    spec: {
      trustAnchors: [{ name: "root", file: "anchor.crt" }],
      clusters: names.map((name) => ({ name })),
      links: empty
        ? []
        : names.flatMap((n, i) => [
            { from: n, to: names[(i + 1) % N] },
            { from: names[(i + 1) % N], to: n },
          ]),
      exports: empty
        ? []
        : names.map((cluster) => ({
            cluster,
            namespace: "bench",
            services: Array.from({ length: perCluster }, (_, j) => `svc-${j}`),
          })),
      splits: empty
        ? []
        : names.map((cluster, i) => ({
            cluster,
            namespace: "bench",
            service: "svc-0",
            backends: [
              { service: "svc-0", weight: i === 0 ? weight : 50 },
              { service: "svc-0", cluster: names[(i + 1) % N], weight: i === 0 ? 100 - weight : 50 },
            ],
          })),
    },
  };
  return yaml.dump(doc);
}

/** The bench topology, loaded with the harness anchor. */
export async function fleetTopology(
  names: readonly string[],
  perCluster: number,
  anchor: string,
  weight: number,
  empty = false,
): Promise<Topology> {
  const { topology, diagnostics } = await loadTopology({
    file: "bench.yaml",
    text: fleetYaml(names, perCluster, weight, empty),
    readFile: async () => anchor,
  });
  if (!topology) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
  return topology;
}

/** Creates namespace `bench` and `perCluster` Services in every cluster (field manager `bench-setup`). */
export async function seedServices(clients: Iterable<ClusterClient>, perCluster: number): Promise<void> {
  await mapLimit([...clients], 4, async (client) => {
    await client.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } },
      { fieldManager: "bench-setup" },
    );
    await mapLimit(
      Array.from({ length: perCluster }, (_, j) => j),
      16,
      (j) =>
        client.apply(
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: `svc-${j}`, namespace: "bench", labels: { app: `svc-${j}` } },
            spec: { ports: [{ name: "http", port: 8080 }], selector: { app: `svc-${j}` } },
          },
          { fieldManager: "bench-setup" },
        ),
    );
  });
}
