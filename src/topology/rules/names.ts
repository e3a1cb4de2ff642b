/** Rule: cluster names, anchor names and kubeconfig contexts are unique. */
import type { Rule } from "./context.js";

/** Reports a second cluster or trust anchor with an already used name, and two clusters sharing a context. */
export const uniqueNames: Rule = (ctx) => {
  const clusters = new Map<string, number>();
  const contexts = new Map<string, number>();
  for (const c of ctx.draft.clusters) {
    if (c.name === undefined) continue;
    const first = clusters.get(c.name);
    if (first !== undefined) {
      ctx.report(
        "XL200",
        `/spec/clusters/${c.index}/name`,
        `cluster \`${c.name}\` is declared twice (first as spec.clusters[${first}])`,
        "give every cluster a unique name, or merge the two entries",
      );
      continue;
    }
    clusters.set(c.name, c.index);
    if (c.context === undefined) continue;
    const other = contexts.get(c.context);
    if (other !== undefined) {
      const ptr =
        `/spec/clusters/${c.index}` + (ctx.map.has(`/spec/clusters/${c.index}/context`) ? "/context" : "/name");
      ctx.report(
        "XL216",
        ptr,
        `cluster \`${c.name}\` uses kubeconfig context \`${c.context}\`, as spec.clusters[${other}] does`,
        "each cluster needs its own context; two entries would manage the same cluster",
      );
    } else contexts.set(c.context, c.index);
  }
  const anchors = new Map<string, number>();
  for (const a of ctx.draft.anchors) {
    if (a.name === undefined) continue;
    const first = anchors.get(a.name);
    if (first !== undefined)
      ctx.report(
        "XL201",
        `/spec/trustAnchors/${a.index}/name`,
        `trust anchor \`${a.name}\` is declared twice (first as spec.trustAnchors[${first}])`,
        "give every trust anchor a unique name",
      );
    else anchors.set(a.name, a.index);
  }
};
