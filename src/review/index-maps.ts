/** Lookups over one topology that the diff, the implications and the safety rules share. */
import type { Export, ExportMode, Link, Split, Topology } from "../topology/types.js";
import type { ExportKey, LinkKey, SplitKey } from "./types.js";

/** `west→east`. */
export function linkId(l: LinkKey): string {
  return `${l.from}→${l.to}`;
}

/** `east/emojivoto/web-svc`. */
export function exportId(e: ExportKey): string {
  return `${e.cluster}/${e.namespace}/${e.service}`;
}

/** `west/test/podinfo`. */
export function splitId(s: SplitKey): string {
  return `${s.cluster}/${s.namespace}/${s.service}`;
}

/** One exported service with its mode. */
export interface ExportedService extends ExportKey {
  mode: ExportMode;
}

/** A topology indexed by the keys changes are paired on. */
export interface TopologyIndex {
  topology: Topology;
  clusters: Set<string>;
  links: Map<string, Link>;
  exports: Map<string, ExportedService>;
  splits: Map<string, Split>;
}

const cache = new WeakMap<Topology, TopologyIndex>();

/** Indexes a topology, once per topology object (the first occurrence of a duplicated key wins, as validation reports the rest). */
export function indexTopology(topology: Topology): TopologyIndex {
  let idx = cache.get(topology);
  if (!idx) cache.set(topology, (idx = buildIndex(topology)));
  return idx;
}

function buildIndex(topology: Topology): TopologyIndex {
  const links = new Map<string, Link>();
  for (const l of topology.links) if (!links.has(linkId(l))) links.set(linkId(l), l);
  const exports = new Map<string, ExportedService>();
  for (const e of topology.exports)
    for (const s of exportedServices(e)) if (!exports.has(exportId(s))) exports.set(exportId(s), s);
  const splits = new Map<string, Split>();
  for (const s of topology.splits) if (!splits.has(splitId(s))) splits.set(splitId(s), s);
  return { topology, clusters: new Set(topology.clusters.map((c) => c.name)), links, exports, splits };
}

function exportedServices(e: Export): ExportedService[] {
  return e.services.map((service) => ({ cluster: e.cluster, namespace: e.namespace, service, mode: e.mode }));
}

/** The links into `cluster` (the clusters that mirror its exports). */
export function linksInto(idx: TopologyIndex, cluster: string): Link[] {
  return [...idx.links.values()].filter((l) => l.to === cluster);
}

/** The services `cluster` exports. */
export function exportsOf(idx: TopologyIndex, cluster: string): ExportedService[] {
  return [...idx.exports.values()].filter((e) => e.cluster === cluster);
}

/** Splits in `cluster` with a backend in `remote` (and, when given, of `service` in `namespace`). */
export function splitsUsing(
  idx: TopologyIndex,
  cluster: string | undefined,
  remote: string,
  service?: { namespace: string; service: string },
): { split: Split; weight: number; percent: number }[] {
  const out: { split: Split; weight: number; percent: number }[] = [];
  for (const split of idx.splits.values()) {
    if (cluster !== undefined && split.cluster !== cluster) continue;
    if (service && split.namespace !== service.namespace) continue;
    const total = split.backends.reduce((n, b) => n + b.weight, 0);
    const used = split.backends.filter((b) => b.cluster === remote && (!service || b.service === service.service));
    if (!used.length) continue;
    const weight = used.reduce((n, b) => n + b.weight, 0);
    out.push({ split, weight, percent: percent(weight, total) });
  }
  return out;
}

/** `weight` as a share of `total`, in percent with one decimal. */
export function percent(weight: number, total: number): number {
  return total > 0 ? Math.round((weight / total) * 1000) / 10 : 0;
}
