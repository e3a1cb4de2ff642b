/**
 * What a topology declares, reduced to what the prune guard compares: clusters
 * (with the namespaces objects go to), links (with the fields that decide which
 * objects a link has), exported services and splits. Built from a topology
 * file, or reconstructed from the labels of what crosslink holds in the
 * clusters when no previous topology is known (the CLI). Pure.
 */
import { groupOf } from "../../kube/object.js";
import type { ControllerMode, CredentialsMode, SplitApi, Topology } from "../../topology/types.js";
import type { ClusterObservation } from "../facts.js";
import { LINK_LABEL } from "../names.js";
import { ownsExportLabel } from "../render/exports.js";
import { splitApiOfGroup, splitServiceOf } from "../render/splits.js";

/** A declared cluster; namespaces undefined: not known (reconstructed from live objects). */
export interface DeclaredCluster {
  name: string;
  linkerdNamespace?: string;
  multiclusterNamespace?: string;
}

/** A declared link; `controller` and `credentials` undefined: not known. */
export interface DeclaredLink {
  from: string;
  to: string;
  controller?: ControllerMode;
  credentials?: CredentialsMode;
}

/** One exported service. */
export interface DeclaredExport {
  cluster: string;
  namespace: string;
  service: string;
}

/** A declared split; `api` undefined: whatever the cluster serves (or not known). */
export interface DeclaredSplit {
  cluster: string;
  namespace: string;
  service: string;
  api?: SplitApi;
}

/** The declarations the prune guard compares. */
export interface Declarations {
  /** `topology`: read from a topology; `live`: reconstructed from what crosslink holds in the clusters. */
  source: "topology" | "live";
  clusters: DeclaredCluster[];
  links: DeclaredLink[];
  exports: DeclaredExport[];
  splits: DeclaredSplit[];
}

/** What a topology declares. */
export function declarationsOf(topology: Topology): Declarations {
  return {
    source: "topology",
    clusters: topology.clusters.map((c) => ({
      name: c.name,
      linkerdNamespace: c.linkerdNamespace,
      multiclusterNamespace: c.multiclusterNamespace,
    })),
    links: topology.links.map((l) => ({
      from: l.from,
      to: l.to,
      controller: l.controller,
      credentials: l.credentials.mode,
    })),
    exports: topology.exports.flatMap((e) =>
      e.services.map((service) => ({ cluster: e.cluster, namespace: e.namespace, service })),
    ),
    splits: topology.splits.map((s) => ({
      cluster: s.cluster,
      namespace: s.namespace,
      service: s.service,
      ...(s.api ? { api: s.api } : {}),
    })),
  };
}

/** `from.to` of a `crosslink.dev/link` label value (cluster names are DNS labels: no dots). */
export function parseLinkLabel(value: string | undefined): { from: string; to: string } | undefined {
  const m = value ? /^([^.]+)\.([^.]+)$/.exec(value) : null;
  return m ? { from: m[1]!, to: m[2]! } : undefined;
}

/**
 * What the clusters show was applied before, from the labels of the objects
 * crosslink owns: a link per `crosslink.dev/link` value, an export per Service
 * whose export label crosslink's field manager owns, a split per route object,
 * and the clusters holding any of them or named by a link. Fields that labels
 * do not show (controller, credentials, namespaces, split API) stay unknown.
 */
export function declarationsFromLive(observations: readonly ClusterObservation[], fieldManager: string): Declarations {
  const clusters = new Set<string>();
  const links = new Map<string, DeclaredLink>();
  const exports = new Map<string, DeclaredExport>();
  const splits = new Map<string, DeclaredSplit>();
  for (const obs of observations) {
    if (!obs.ok) continue;
    const { facts } = obs;
    for (const o of facts.owned) {
      const link = parseLinkLabel(o.metadata.labels?.[LINK_LABEL]);
      if (link) {
        links.set(`${link.from}.${link.to}`, link);
        clusters.add(link.from).add(link.to);
        continue;
      }
      const api = splitApiOfGroup(groupOf(o.apiVersion), o.kind);
      const service = splitServiceOf(o.metadata.name);
      if (api && service && o.metadata.namespace) {
        splits.set(`${facts.cluster}/${o.metadata.namespace}/${service}`, {
          cluster: facts.cluster,
          namespace: o.metadata.namespace,
          service,
          api,
        });
        clusters.add(facts.cluster);
      }
    }
    for (const svc of facts.services.values()) {
      if (!ownsExportLabel(svc, fieldManager)) continue;
      const namespace = svc.metadata.namespace ?? "";
      exports.set(`${facts.cluster}/${namespace}/${svc.metadata.name}`, {
        cluster: facts.cluster,
        namespace,
        service: svc.metadata.name,
      });
      clusters.add(facts.cluster);
    }
  }
  return {
    source: "live",
    clusters: [...clusters].sort().map((name) => ({ name })),
    links: [...links.values()],
    exports: [...exports.values()],
    splits: [...splits.values()],
  };
}
