/** Turns a draft that passed the schema and the rules into the `Topology` later stages use. */
import type { Draft } from "./draft.js";
import type { LoadedAnchor } from "./anchors.js";
import type { SourceMap } from "./parse.js";
import type { Cluster, Link, Split, SplitBackend, Topology, TrustAnchor } from "./types.js";

/**
 * Builds the normalised topology. Lists keep the order and indices of the file,
 * so `/spec/links/3` in `positions` is `topology.links[3]`. A backend whose
 * `cluster` is the split's own cluster becomes local.
 */
export function normalise(
  draft: Draft,
  anchors: ReadonlyMap<number, LoadedAnchor>,
  map: SourceMap,
  file: string,
): Topology {
  const trustAnchors = draft.anchors.map((a): TrustAnchor => {
    const l = anchors.get(a.index);
    const t: TrustAnchor = {
      name: a.name ?? "",
      pem: l?.pem ?? a.pem ?? "",
      fingerprints: l?.fingerprints ?? [],
      role: a.role === "next" ? "next" : "current",
    };
    if (l?.file !== undefined) t.file = l.file;
    return t;
  });
  const clusters = draft.clusters.map((c): Cluster => {
    const out: Cluster = {
      name: c.name ?? "",
      context: c.context ?? c.name ?? "",
      linkerdNamespace: c.linkerdNamespace,
      multiclusterNamespace: c.multiclusterNamespace,
      clusterDomain: c.clusterDomain,
    };
    if (c.apiServer !== undefined) out.apiServer = c.apiServer;
    if (c.gateway !== undefined) out.gateway = { ...c.gateway };
    return out;
  });
  const links = draft.links.map((l): Link => {
    const out: Link = {
      from: l.from ?? "",
      to: l.to ?? "",
      controller: l.controller,
      credentials: { mode: l.mode, ttlSeconds: l.ttlSeconds ?? 0 },
      excludedLabels: l.excludedLabels,
      excludedAnnotations: l.excludedAnnotations,
    };
    if (l.controllerImage !== undefined) out.controllerImage = l.controllerImage;
    if (l.serviceAccount !== undefined) out.credentials.serviceAccount = l.serviceAccount;
    return out;
  });
  const exports = draft.exports.map((e) => ({
    cluster: e.cluster ?? "",
    namespace: e.namespace ?? "",
    services: e.services.map((s) => s.name),
    mode: e.mode,
  }));
  const splits = draft.splits.map((s): Split => {
    const backends = s.backends.map((b): SplitBackend => {
      const out: SplitBackend = { service: b.service ?? "", weight: b.weight ?? 0 };
      if (b.cluster !== undefined && b.cluster !== s.cluster) out.cluster = b.cluster;
      return out;
    });
    const out: Split = { cluster: s.cluster ?? "", namespace: s.namespace ?? "", service: s.service ?? "", backends };
    if (s.api !== undefined) out.api = s.api;
    return out;
  });
  return {
    apiVersion: "crosslink.dev/v1alpha1",
    kind: "Topology",
    name: draft.name ?? "",
    manageTrust: draft.manageTrust,
    trustAnchors,
    clusters,
    links,
    exports,
    splits,
    positions: (pointer) => (pointer === "" || pointer.startsWith("/") ? { file, ...map.value(pointer) } : undefined),
  };
}
