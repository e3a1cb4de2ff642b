/**
 * The topology as a Mermaid flowchart: clusters as nodes, links as edges
 * (`from` mirrors `to`); added edges thick green, removed edges dashed red,
 * changed edges orange. Large meshes show only what changed.
 */
import type { GraphStatus, ReviewGraph } from "./types.js";

/** Above this many edges only changed edges (and their clusters) are drawn. */
export const MAX_DIAGRAM_EDGES = 120;

const EDGE_STYLE: Record<GraphStatus, string | undefined> = {
  kept: undefined,
  added: "stroke:#1a7f37,stroke-width:3px",
  removed: "stroke:#cf222e,stroke-width:3px,stroke-dasharray:6 4",
  changed: "stroke:#bf8700,stroke-width:3px",
};

const ARROW: Record<GraphStatus, string> = { kept: "-->", added: "==>", removed: "-.->", changed: "-->" };

/** The diagram's Mermaid source (without the code fence). */
export function mermaidDiagram(graph: ReviewGraph): string {
  const big = graph.edges.length > MAX_DIAGRAM_EDGES;
  const edges = big ? graph.edges.filter((e) => e.status !== "kept") : graph.edges;
  const shown = big
    ? new Set([
        ...edges.flatMap((e) => [e.from, e.to]),
        ...graph.nodes.filter((n) => n.status !== "kept").map((n) => n.cluster),
      ])
    : undefined;
  const nodes = graph.nodes.filter((n) => !shown || shown.has(n.cluster));
  for (const c of edges.flatMap((e) => [e.from, e.to]))
    if (!nodes.some((n) => n.cluster === c)) nodes.push({ cluster: c, status: "kept" });
  const id = new Map(nodes.map((n, i) => [n.cluster, `c${i}`]));
  const out = ["flowchart LR"];
  if (big) out.push(`  %% ${graph.edges.length - edges.length} unchanged links not drawn`);
  for (const n of nodes)
    out.push(
      `  ${id.get(n.cluster)}["${n.cluster.replace(/["<>\[\]]/g, "")}"]${n.status === "kept" ? "" : `:::${n.status}`}`,
    );
  const styles: string[] = [];
  edges.forEach((e, i) => {
    const from = id.get(e.from)!;
    const to = id.get(e.to)!;
    out.push(`  ${from} ${ARROW[e.status]}${e.status === "kept" ? "" : `|${e.status}|`} ${to}`);
    const style = EDGE_STYLE[e.status];
    if (style) styles.push(`  linkStyle ${i} ${style}`);
  });
  out.push(...styles);
  out.push("  classDef added fill:#dafbe1,stroke:#1a7f37,stroke-width:2px");
  out.push("  classDef removed fill:#ffebe9,stroke:#cf222e,stroke-width:2px,stroke-dasharray:6 4");
  out.push("  classDef changed fill:#fff8c5,stroke:#bf8700,stroke-width:2px");
  return out.join("\n");
}
