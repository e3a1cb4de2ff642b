/** What the engine commands (diff, apply, render) share: options, topology loading, cluster access. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { formatDiagnostics, hasErrors } from "../diagnostics.js";
import { reconcileOptions, type ReconcileOptions } from "../engine/reconcile.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../kube/access.js";
import { defaultDiscoveryDir, diskDiscoveryStore } from "../kube/discovery-cache.js";
import { loadTopologyFile } from "../topology/index.js";
import type { Topology } from "../topology/types.js";
import type { CommandIo } from "./command.js";

/** Options every engine command takes. */
export const ENGINE_OPTIONS = {
  file: { type: "string", short: "f", default: "multicluster.yaml" },
  kubeconfig: { type: "string" },
  output: { type: "string", short: "o", default: "human" },
  "allow-mass-prune": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

/** Exit codes: in sync, error, changes pending. */
export const EXIT = { ok: 0, error: 1, changes: 2 } as const;

/** Parses a command's arguments with the engine options plus its own. */
export function parseEngineArgs<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], extra: O) {
  return parseArgs({ args, options: { ...ENGINE_OPTIONS, ...extra }, allowPositionals: false, strict: true });
}

/** Loads and validates the topology; prints diagnostics (to stderr) and returns undefined when it is invalid. */
export async function loadOrReport(file: string, io: CommandIo): Promise<Topology | undefined> {
  const { topology, diagnostics } = await loadTopologyFile(file);
  if (diagnostics.length) io.err(formatDiagnostics(diagnostics) + "\n");
  return hasErrors(diagnostics) ? undefined : topology;
}

/** Builds cluster clients, which keep discovery answers on disk between commands; prints the located errors of missing contexts. */
export function accessOrReport(topology: Topology, kubeconfig: string | undefined, io: CommandIo): ClusterAccess {
  const access = clusterAccess(topology, loadKubeConfig(kubeconfig));
  const store = diskDiscoveryStore(defaultDiscoveryDir());
  for (const client of access.clients.values()) client.discoveryStore = store;
  if (access.diagnostics.length) io.err(formatDiagnostics(access.diagnostics) + "\n");
  return access;
}

/** The composition root's options from parsed flags (everything else at its default). */
export function engineOptions(
  values: { "allow-mass-prune"?: boolean },
  extra: Partial<ReconcileOptions> = {},
): ReconcileOptions {
  return reconcileOptions({ allowMassPrune: values["allow-mass-prune"] ?? false, ...extra });
}
