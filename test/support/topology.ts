/** Topologies for the unit tier: a spec as a JS object, loaded by the real loader (schema, rules, anchors). */
import { stringify } from "yaml";
import { loadTopology } from "../../src/topology/index.js";
import type { Topology } from "../../src/topology/types.js";

/** Loads `spec` (with `trustAnchors` defaulting to one anchor `root` of `anchorPem`) as topology `name`; throws on errors. */
export async function testTopology(
  spec: Record<string, unknown>,
  anchorPem: string,
  name = "mesh",
  now = new Date(),
): Promise<Topology> {
  const doc = {
    apiVersion: "crosslink.dev/v1alpha1",
    kind: "Topology",
    metadata: { name },
    spec: { trustAnchors: [{ name: "root", pem: anchorPem }], ...spec },
  };
  const { topology, diagnostics } = await loadTopology({ file: "multicluster.yaml", text: stringify(doc), now });
  if (!topology)
    throw new Error(`test topology does not load: ${diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  return topology;
}
