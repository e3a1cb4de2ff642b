/** Shared helpers of the engine tests: example topologies bound to the harness's anchor, and engine runs. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { parseDocument } from "yaml";
import { startClusters, type StartOptions, type StartedClusters } from "../harness/driver.js";
import type { ChangeSet } from "../../src/engine/apply.js";
import { reconcile, reconcileOptions, type PlanRun } from "../../src/engine/reconcile.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../../src/kube/access.js";
import { FIELD_MANAGER } from "../../src/kube/http-client.js";
import { loadTopology } from "../../src/topology/index.js";
import type { Topology } from "../../src/topology/types.js";

/** The repository root (tests run from dist/test/engine). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * Loads `examples/<name>/multicluster.yaml`, optionally edited, with every
 * anchor file replaced by `anchorPem` (the harness clusters' shared anchor).
 */
export async function exampleTopology(
  name: string,
  anchorPem: string,
  edit?: (doc: ReturnType<typeof parseDocument>) => void,
): Promise<Topology> {
  const file = path.join(ROOT, "examples", name, "multicluster.yaml");
  const doc = parseDocument(await readFile(file, "utf8"));
  edit?.(doc);
  const { topology, diagnostics } = await loadTopology({
    file,
    text: doc.toString(),
    readFile: async (p) => (p.endsWith(".crt") || p.endsWith(".pem") ? anchorPem : readFile(p)),
  });
  if (!topology) throw new Error(`example ${name} does not load: ${JSON.stringify(diagnostics)}`);
  return topology;
}

/** Clients for a topology from a kubeconfig file, with a short retry policy for tests. */
export function access(topology: Topology, kubeconfig: string): ClusterAccess {
  return clusterAccess(topology, loadKubeConfig(kubeconfig), { attempts: 2, baseDelayMs: 50, timeoutMs: 5_000 });
}

/** Plans, applies, and returns the plan, the change set and the writes each client made. */
export async function applyOnce(
  topology: Topology,
  acc: ClusterAccess,
  opts: { allowMassPrune?: boolean; now?: () => Date } = {},
): Promise<PlanRun & { changes: ChangeSet; writes: number; requests: number }> {
  const before = acc.totals();
  const now = opts.now ?? (() => new Date());
  const run = await reconcile(
    topology,
    acc.clients,
    reconcileOptions({
      now,
      fieldManager: FIELD_MANAGER,
      allowMassPrune: opts.allowMassPrune ?? false,
      tokenWaitMs: 20_000,
    }),
    () => true,
  );
  const after = acc.totals();
  return {
    ...run,
    changes: run.changes!,
    writes: after.writes - before.writes,
    requests: after.requests - before.requests,
  };
}

/** Clusters started for a test file, and clients for an example topology on them. */
export interface ClusterFixture {
  clusters: StartedClusters;
  acc: ClusterAccess;
}

/**
 * Starts `names` before the file's tests (seeded, silent) with clients for
 * `example`, and stops them after; the fields are set once `before` has run.
 */
export function useClusters(
  names: string[],
  example: string,
  opts: () => Promise<StartOptions> | StartOptions = () => ({}),
): ClusterFixture {
  const fixture = {} as ClusterFixture;
  before(async () => {
    fixture.clusters = await startClusters(names, { log: () => {}, ...(await opts()) });
    fixture.acc = access(
      await exampleTopology(example, fixture.clusters.trustAnchorPem),
      fixture.clusters.kubeconfigPath,
    );
  });
  after(async () => {
    fixture.acc?.close();
    await fixture.clusters?.stop();
  });
  return fixture;
}
