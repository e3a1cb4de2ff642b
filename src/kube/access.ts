/**
 * Cluster access: one `ClusterClient` per topology cluster, from the
 * kubeconfig (`--kubeconfig`, then `KUBECONFIG`, then ~/.kube/config), by the
 * cluster's `context`. A context that is missing is a located diagnostic.
 * Built again for a new topology with the access in use, a cluster keeps its
 * client when it is reached the same way (same kubeconfig, same context or
 * the same local cluster, same name): its sockets and discovery stay.
 */
import type { EngineCode } from "../codes.js";
import type { Diagnostic } from "../diagnostics.js";
import type { Topology } from "../topology/types.js";
import { HttpClusterClient, type RetryPolicy } from "./http-client.js";
import { Kubeconfig } from "./kubeconfig.js";

/** The clients of a topology's clusters, and the problems found building them. */
export interface ClusterAccess {
  clients: Map<string, HttpClusterClient>;
  diagnostics: Diagnostic[];
  /** Requests and writes of every client, added up. */
  totals(): { requests: number; writes: number };
  /** Each cluster's connection: what its client is built from (see connectionOf). */
  connections: ReadonlyMap<string, string>;
  /** The kubeconfig the clients were built from (another one: nothing is reused). */
  kubeconfig: Kubeconfig;
  /** Closes every client's sockets, but those of `keep` (clients a newer access took over). */
  close(keep?: ReadonlySet<unknown>): void;
}

/** Loads a kubeconfig: the given file, else KUBECONFIG, else ~/.kube/config, else the pod's ServiceAccount. */
export function loadKubeConfig(file?: string): Kubeconfig {
  const kc = new Kubeconfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

/** A topology cluster reached without a kubeconfig context: the pod's own cluster, through its ServiceAccount. */
export interface LocalCluster {
  /** The topology cluster's name (`--local-cluster`). */
  name: string;
  connect(name: string, retry?: RetryPolicy): HttpClusterClient;
}

/** What a cluster's client is built from, within one kubeconfig: its name and context, or the local cluster. */
export function connectionOf(cluster: { name: string; context: string }, local?: LocalCluster): string {
  return local?.name === cluster.name ? `local\0${cluster.name}` : `context\0${cluster.name}\0${cluster.context}`;
}

/**
 * Builds one client per cluster of the topology from a kubeconfig (and `local` for the pod's own cluster).
 * With `previous` (the access in use, built from the same kubeconfig), a cluster whose connection is unchanged
 * keeps its client; closing `previous` with the new clients kept is then the caller's part.
 */
export function clusterAccess(
  topology: Topology,
  kc: Kubeconfig,
  retry?: RetryPolicy,
  local?: LocalCluster,
  previous?: ClusterAccess,
): ClusterAccess {
  const clients = new Map<string, HttpClusterClient>();
  const connections = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const reusable = previous?.kubeconfig === kc ? previous : undefined;
  topology.clusters.forEach((cluster, i) => {
    const connection = connectionOf(cluster, local);
    const kept =
      reusable?.connections.get(cluster.name) === connection ? reusable.clients.get(cluster.name) : undefined;
    const client =
      kept ??
      (local?.name === cluster.name
        ? local.connect(cluster.name, retry)
        : clientForContext(kc, cluster.context, cluster.name, retry));
    if (client) {
      clients.set(cluster.name, client);
      connections.set(cluster.name, connection);
      return;
    }
    const pos = topology.positions(`/spec/clusters/${i}/context`) ??
      topology.positions(`/spec/clusters/${i}/name`) ?? { file: "", line: 1, col: 1 };
    diagnostics.push({
      severity: "error",
      code: "XL501" satisfies EngineCode,
      message: `cluster '${cluster.name}': kubeconfig has no context '${cluster.context}'`,
      hint: `known contexts: ${
        kc
          .getContexts()
          .map((c) => c.name)
          .join(", ") || "(none)"
      }; set 'context:' or pass --kubeconfig`,
      ...pos,
      pointer: `/spec/clusters/${i}/context`,
    });
  });
  const totals = () => {
    let requests = 0;
    let writes = 0;
    for (const c of clients.values()) {
      requests += c.counters.requests;
      writes += c.counters.writes;
    }
    return { requests, writes };
  };
  return {
    clients,
    connections,
    kubeconfig: kc,
    diagnostics,
    totals,
    close: (keep) => {
      for (const c of clients.values()) if (!keep?.has(c)) c.close();
    },
  };
}

/** A client for one context of a kubeconfig, or undefined when the context does not exist. */
export function clientForContext(
  kc: Kubeconfig,
  context: string,
  name: string,
  retry?: RetryPolicy,
): HttpClusterClient | undefined {
  const ctx = kc.getContextObject(context);
  if (!ctx) return undefined;
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) return undefined;
  const scoped = kc.withContext(context);
  const caPem = cluster.caData ? Buffer.from(cluster.caData, "base64").toString("utf8") : undefined;
  return new HttpClusterClient(name, scoped, cluster.server, caPem, retry);
}
