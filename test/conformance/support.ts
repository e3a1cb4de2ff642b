/**
 * Shared setup of the conformance tests that run Linkerd's controllers: two
 * harness clusters (east exports, west mirrors), a topology written to disk
 * (so `crosslink diff` reads the same file), crosslink's clients, and the
 * Endpoints an endpoints controller would write (the harness has none).
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { pollUntil } from "../harness/kube.js";
import { ROOT, access } from "../engine/support.js";
import type { ClusterAccess } from "../../src/kube/access.js";
import type { ClusterClient } from "../../src/kube/port.js";
import { loadTopology } from "../../src/topology/index.js";
import type { Topology } from "../../src/topology/types.js";

const run = promisify(execFile);

/** What an export of the conformance topology looks like in YAML. */
export interface ExportSpec {
  services: string[];
  mode?: "gateway" | "remote-discovery" | "federated";
}

/** Clusters east and west, crosslink's clients, and a directory for the topology file. */
export interface ConformanceEnv {
  clusters: StartedClusters;
  acc: ClusterAccess;
  east: ClusterClient;
  west: ClusterClient;
  dir: string;
  file: string;
  /** Writes the topology (link west→east, the given emojivoto exports of east) and loads it. */
  topology(exports: ExportSpec[], opts?: { link?: boolean; ttl?: string }): Promise<Topology>;
  /** Runs the crosslink CLI on the topology file; the exit code and output. */
  cli(...args: string[]): Promise<{ code: number; out: string }>;
  /** client-node's generic API for one cluster, for kinds outside crosslink's kind table (Endpoints, EndpointSlices). */
  objects(cluster: string): KubernetesObjectApi;
  stop(): Promise<void>;
}

/** Starts east and west (seeded) and prepares the topology directory. */
export async function startConformanceEnv(): Promise<ConformanceEnv> {
  const clusters = await startClusters(["east", "west"], { log: () => {} });
  const dir = await mkdtemp(path.join(tmpdir(), "xl-conform-"));
  await mkdir(path.join(dir, "anchors"));
  await writeFile(path.join(dir, "anchors", "root.crt"), clusters.trustAnchorPem);
  const file = path.join(dir, "multicluster.yaml");
  let acc: ClusterAccess | undefined;
  const topology = async (exports: ExportSpec[], opts: { link?: boolean; ttl?: string } = {}) => {
    const text = conformanceTopologyYaml(exports, opts);
    await writeFile(file, text);
    const { topology: t, diagnostics } = await loadTopology({ file, text, readFile: (p) => readFile(p, "utf8") });
    if (!t) throw new Error(`conformance topology does not load: ${JSON.stringify(diagnostics)}`);
    acc ??= access(t, clusters.kubeconfigPath);
    return t;
  };
  await topology([]);
  const cli = async (...args: string[]) => {
    try {
      const r = await run(
        process.execPath,
        [path.join(ROOT, "bin/crosslink.js"), ...args, "-f", file, "--kubeconfig", clusters.kubeconfigPath],
        { cwd: dir, timeout: 60_000 },
      );
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  };
  return {
    clusters,
    acc: acc!,
    east: acc!.clients.get("east")!,
    west: acc!.clients.get("west")!,
    dir,
    file,
    topology,
    cli,
    objects: (cluster) => KubernetesObjectApi.makeApiClient(clusters.kubeConfig(cluster)),
    stop: async () => {
      acc?.close();
      await clusters.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The topology text: link west→east (unless `link: false`) and east's emojivoto exports. */
export function conformanceTopologyYaml(exports: ExportSpec[], opts: { link?: boolean; ttl?: string } = {}): string {
  const lines = [
    "apiVersion: crosslink.dev/v1alpha1",
    "kind: Topology",
    "metadata:",
    "  name: conformance",
    "spec:",
    "  trustAnchors:",
    "    - name: root",
    "      file: anchors/root.crt",
    "  clusters:",
    "    - name: east",
    "    - name: west",
  ];
  if (opts.link !== false) {
    lines.push("  links:", "    - from: west", "      to: east");
    if (opts.ttl) lines.push("      credentials:", "        mode: token-request", `        ttl: ${opts.ttl}`);
  }
  if (exports.length) {
    lines.push("  exports:");
    for (const e of exports) {
      lines.push("    - cluster: east", "      namespace: emojivoto", `      services: [${e.services.join(", ")}]`);
      if (e.mode) lines.push(`      mode: ${e.mode}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Writes the Endpoints and the EndpointSlice an endpoints controller would for
 * `namespace/service`: one address per IP, the Service's ports, and the
 * Service's labels (Linkerd's mirror controller reads them from Endpoints).
 */
export async function writeEndpoints(
  client: ClusterClient,
  objects: KubernetesObjectApi,
  namespace: string,
  service: string,
  ips: string[],
): Promise<void> {
  const svc = await client.get({ apiVersion: "v1", kind: "Service", namespace, name: service });
  if (!svc) throw new Error(`no Service ${namespace}/${service} in ${client.cluster}`);
  const ports = (
    (svc.spec as { ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[] })
      .ports ?? []
  ).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    port: typeof p.targetPort === "number" ? p.targetPort : p.port,
    protocol: p.protocol ?? "TCP",
  }));
  const labels = { ...(svc.metadata.labels ?? {}) };
  const apply = (o: KubernetesObject) =>
    objects.patch(o, undefined, undefined, "endpoint-controller", true, PatchStrategy.ServerSideApply);
  await apply({
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: service, namespace, labels },
    subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports }] : [],
  } as KubernetesObject);
  await apply({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${service}-slice`,
      namespace,
      labels: {
        ...labels,
        "kubernetes.io/service-name": service,
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
      },
    },
    addressType: "IPv4",
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } })),
    ports,
  } as KubernetesObject);
}

/** An object of any kind, or undefined when the server answers 404. */
export async function readObject(
  objects: KubernetesObjectApi,
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
): Promise<KubernetesObject | undefined> {
  try {
    return await objects.read({ apiVersion, kind, metadata: { name, namespace } });
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

/** Waits until `fn` finds something, for up to `ms`; returns it and the time it took. */
export async function timed<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms: number,
): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await pollUntil(what, fn, ms, 100);
  return { value, ms: Date.now() - t0 };
}
