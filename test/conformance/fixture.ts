/**
 * The clusters of a conformance test file: Linkerd's tools, two harness
 * clusters (east, west) seeded with the CLI's own Linkerd version, and the
 * east-west example applied by crosslink. Nothing starts when the tools are
 * missing (the tests skip, or fail under CI).
 */
import { after, before } from "node:test";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { access, applyOnce, exampleTopology } from "../engine/support.js";
import type { ClusterAccess } from "../../src/kube/access.js";
import type { Topology } from "../../src/topology/types.js";
import { cliVersion, type LinkerdTarget } from "./linkerd-cli.js";
import { requireLinkerdTools, type LinkerdTools } from "./tools.js";

/** What a conformance file works with once `before` has run. */
export interface Conformance {
  tools?: LinkerdTools;
  skip?: string;
  version: string;
  clusters: StartedClusters;
  acc: ClusterAccess;
  topology: Topology;
  /** `linkerd --kubeconfig … --context <name>`. */
  target(name: string): LinkerdTarget;
}

/** Starts east and west with the east-west example applied (before), and stops them (after). */
export function useConformance(): Conformance {
  const fx = {} as Conformance;
  before(async () => {
    const { tools, skip } = await requireLinkerdTools();
    if (!tools) {
      fx.skip = skip!;
      return;
    }
    fx.tools = tools;
    fx.version = await cliVersion(tools);
    fx.clusters = await startClusters(["east", "west"], { log: () => {}, seed: { linkerdVersion: fx.version } });
    fx.topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem);
    fx.acc = access(fx.topology, fx.clusters.kubeconfigPath);
    const r = await applyOnce(fx.topology, fx.acc);
    if (!r.changes.clusters.every((c) => c.converged))
      throw new Error(`east-west did not converge: ${JSON.stringify(r.changes)}`);
    fx.target = (context) => ({ kubeconfig: fx.clusters.kubeconfigPath, context });
  });
  after(async () => {
    fx.acc?.close();
    await fx.clusters?.stop();
  });
  return fx;
}
