/**
 * Exports: the label Linkerd's Link selectors look for, applied to the user's
 * Service as a partial object, so crosslink owns only that label (server-side
 * apply managed fields). A Service whose crosslink-owned export label is no
 * longer wanted gets an empty partial, which drops crosslink's label and
 * nothing else.
 */
import type { KubeObject } from "../../kube/object.js";
import type { Topology } from "../../topology/types.js";
import type { ClusterFacts } from "../facts.js";
import { nsName } from "../facts.js";
import { EXPORT_LABELS, exportModeInfo } from "../../extensions/export-modes.js";
import { managedLeafPaths } from "../../kube/managed-fields.js";
import type { DesiredPatch, Finding } from "./desired.js";

/** Whether `manager` applied one of the export modes' labels to this Service (read from its managed fields). */
export function ownsExportLabel(svc: KubeObject, manager: string): boolean {
  return managedLeafPaths(svc, manager).some(
    (p) => p[0] === "metadata" && p[1] === "labels" && typeof p[2] === "string" && EXPORT_LABELS.includes(p[2]),
  );
}

function servicePatch(namespace: string, name: string, labels: Record<string, string>): KubeObject {
  const metadata: KubeObject["metadata"] = { name, namespace };
  if (Object.keys(labels).length) metadata.labels = labels;
  return { apiVersion: "v1", kind: "Service", metadata };
}

/** The export-label patches of one cluster, and findings for Services that do not exist. */
export function renderExports(
  topology: Topology,
  facts: ClusterFacts,
): { patches: DesiredPatch[]; findings: Finding[] } {
  const patches: DesiredPatch[] = [];
  const findings: Finding[] = [];
  const wanted = new Set<string>();
  for (const e of topology.exports) {
    if (e.cluster !== facts.cluster) continue;
    const { label, value } = exportModeInfo(e.mode);
    for (const svc of e.services) {
      const id = nsName(e.namespace, svc);
      if (!facts.services.has(id)) {
        findings.push({
          severity: "warning",
          code: "XL611",
          cluster: facts.cluster,
          message: `export ${facts.cluster}/${id}: Service not found; nothing to label until it exists`,
          hint: "deploy the Service, or remove it from spec.exports",
        });
        continue;
      }
      wanted.add(id);
      patches.push({
        object: servicePatch(e.namespace, svc, { [label]: value }),
        force: false,
        reason: `export (${e.mode})`,
      });
    }
  }
  for (const [id, svc] of facts.services) {
    if (wanted.has(id)) continue;
    if (ownsExportLabel(svc, "crosslink")) {
      patches.push({
        object: servicePatch(svc.metadata.namespace ?? "", svc.metadata.name, {}),
        force: false,
        reason: "no longer exported",
      });
    }
  }
  return { patches, findings };
}
