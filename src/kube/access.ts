/**
 * Cluster access: one `ClusterClient` per topology cluster, from the
 * kubeconfig (`--kubeconfig`, then `KUBECONFIG`, then ~/.kube/config), by the
 * cluster's `context`. A context that is missing is a located diagnostic.
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
  /** Closes every client's sockets. */
  close(): void;
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

/** Builds one client per cluster of the topology from a kubeconfig (and `local` for the pod's own cluster). */
export function clusterAccess(
  topology: Topology,
  kc: Kubeconfig,
  retry?: RetryPolicy,
  local?: LocalCluster,
): ClusterAccess {
  const clients = new Map<string, HttpClusterClient>();
  const diagnostics: Diagnostic[] = [];
  topology.clusters.forEach((cluster, i) => {
    const client =
      local?.name === cluster.name
        ? local.connect(cluster.name, retry)
        : clientForContext(kc, cluster.context, cluster.name, retry);
    if (client) {
      clients.set(cluster.name, client);
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
  return { clients, diagnostics, totals, close: () => clients.forEach((c) => c.close()) };
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
