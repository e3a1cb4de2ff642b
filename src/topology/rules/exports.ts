/** Rules on exports: the cluster resolves, a service is exported once, mirror names fit, someone links to it. */
import { exportModeInfo } from "../../extensions/export-modes.js";
import type { ExportMode } from "../types.js";
import { mirrorName, MIRROR_NAME_RULE, NAME_LIMITS } from "../../names/index.js";
import { checkClusterRef, type Rule, type RuleContext } from "./context.js";

/** Longest mirror Service name (a DNS-1035 label). */
export const MAX_NAME = NAME_LIMITS[MIRROR_NAME_RULE];

/** Where a service is exported: the export's index, the service's index in it and the mode. */
export interface ExportSite {
  exportIndex: number;
  serviceIndex: number;
  mode: ExportMode;
}

/** Key of the export index: cluster, namespace and service. */
export function exportKey(cluster: string, namespace: string, service: string): string {
  return `${cluster}\u0000${namespace}\u0000${service}`;
}

/** Indexes the first export site of every (cluster, namespace, service). */
export function indexExports(ctx: RuleContext): Map<string, ExportSite> {
  const index = new Map<string, ExportSite>();
  for (const e of ctx.draft.exports) {
    if (e.cluster === undefined || e.namespace === undefined) continue;
    for (const s of e.services) {
      const key = exportKey(e.cluster, e.namespace, s.name);
      if (!index.has(key)) index.set(key, { exportIndex: e.index, serviceIndex: s.index, mode: e.mode });
    }
  }
  return index;
}

/** Reports unresolved export clusters, services exported twice, mirror names too long and exports nobody mirrors. */
export const exportRules: Rule = (ctx) => {
  // First site of each service (export and service index; its text is made only when reported), by cluster and
  // namespace: no key string is built per service.
  const first = new Map<string, Map<string, Map<string, [number, number]>>>();
  const linkedTo = new Set<string>();
  for (const l of ctx.draft.links) if (l.to !== undefined && l.from !== l.to) linkedTo.add(l.to);
  for (const e of ctx.draft.exports) {
    const base = `/spec/exports/${e.index}`;
    const ok = checkClusterRef(ctx, e.cluster, `${base}/cluster`, "exporting cluster");
    if (ok && e.cluster !== undefined && !linkedTo.has(e.cluster) && e.services.length > 0) {
      ctx.report(
        "XL215",
        `${base}/cluster`,
        `services are exported from \`${e.cluster}\` but no link targets it, so nothing mirrors them`,
        `add a link with \`to: ${e.cluster}\`, or drop the export`,
        "warning",
      );
    }
    if (e.cluster === undefined) continue;
    const federated = exportModeInfo(e.mode).federated;
    for (const s of e.services) {
      if (e.namespace !== undefined) {
        let inCluster = first.get(e.cluster);
        if (!inCluster) first.set(e.cluster, (inCluster = new Map()));
        let seen = inCluster.get(e.namespace);
        if (!seen) inCluster.set(e.namespace, (seen = new Map()));
        const prev = seen.get(s.name);
        if (prev !== undefined) {
          ctx.report(
            "XL205",
            `${base}/services/${s.index}`,
            `service \`${e.namespace}/${s.name}\` of cluster \`${e.cluster}\` is already exported (at spec.exports[${prev[0]}].services[${prev[1]}])`,
            "export a service once; one export mode per service",
          );
          continue;
        }
        seen.set(s.name, [e.index, s.index]);
      }
      const mirror = mirrorName(s.name, e.cluster, federated);
      if (mirror.length > MAX_NAME) {
        ctx.report(
          "XL211",
          `${base}/services/${s.index}`,
          `mirror service name \`${mirror}\` is ${mirror.length} characters, more than ${MAX_NAME}`,
          "shorten the service or cluster name; Kubernetes rejects longer Service names",
        );
      }
    }
  }
};
