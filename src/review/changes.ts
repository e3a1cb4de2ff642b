/**
 * The topology-level changes: pairs base and head by key and returns a closed,
 * deterministic list of `TopologyChange`s, each with its implications. Pure.
 */
import { X509Certificate } from "node:crypto";
import { splitPemBundle } from "../pki/pem.js";
import { formatDuration } from "../topology/index.js";
import type { Cluster, Link, Split, Topology } from "../topology/types.js";
import * as imply from "./implications.js";
import { indexTopology, percent, type TopologyIndex } from "./index-maps.js";
import type { FieldDelta, GraphStatus, ReviewGraph, TopologyChange, WeightChange } from "./types.js";

/** Every topology-level change from `base` to `head`, in a stable order. */
export function topologyChanges(base: Topology, head: Topology): TopologyChange[] {
  const s = { base: indexTopology(base), head: indexTopology(head) };
  return [
    ...settings(base, head),
    ...anchors(base, head),
    ...clusters(base, head),
    ...links(s),
    ...exportChanges(s),
    ...splits(s),
  ];
}

function settings(base: Topology, head: Topology): TopologyChange[] {
  const out: TopologyChange[] = [];
  if (base.name !== head.name) {
    out.push({
      kind: "topology-renamed",
      before: base.name,
      after: head.name,
      implications: [
        `objects crosslink made are labelled crosslink.dev/topology=${base.name}; under the new name it no longer owns them: it creates new ones beside them and never prunes the old`,
      ],
    });
  }
  if (base.manageTrust !== head.manageTrust) {
    out.push({
      kind: "manage-trust-changed",
      before: base.manageTrust,
      after: head.manageTrust,
      implications: [
        head.manageTrust
          ? "crosslink writes the trust bundle into every cluster's linkerd-identity-trust-roots"
          : "crosslink stops writing trust bundles; rotate them yourself",
      ],
    });
  }
  return out;
}

interface AnchorCert {
  name: string;
  fingerprint: string;
  subject?: string;
}

function anchorCerts(t: Topology): Map<string, AnchorCert> {
  const out = new Map<string, AnchorCert>();
  for (const a of t.trustAnchors) {
    const subjects = new Map<string, string>();
    for (const block of splitPemBundle(a.pem)) {
      try {
        const c = new X509Certificate(block);
        subjects.set(c.fingerprint256.replaceAll(":", "").toLowerCase(), c.subject.replace(/\n/g, ", "));
      } catch {
        // unparsable: validation reports it
      }
    }
    for (const fp of a.fingerprints)
      if (!out.has(fp))
        out.set(fp, { name: a.name, fingerprint: fp, ...(subjects.has(fp) ? { subject: subjects.get(fp)! } : {}) });
  }
  return out;
}

function anchors(base: Topology, head: Topology): TopologyChange[] {
  const b = anchorCerts(base);
  const h = anchorCerts(head);
  const roll = head.manageTrust
    ? "crosslink writes the new bundle into every cluster"
    : "manageTrust is false: update linkerd-identity-trust-roots in every cluster yourself";
  const out: TopologyChange[] = [];
  for (const [fp, a] of h) {
    if (!b.has(fp))
      out.push({
        kind: "trust-anchor-added",
        ...a,
        implications: [`every cluster will trust identities issued under ${a.name}; ${roll}`],
      });
  }
  for (const [fp, a] of b) {
    if (!h.has(fp))
      out.push({
        kind: "trust-anchor-removed",
        ...a,
        implications: [
          `identities issued under ${a.name} stop being trusted across the mesh once the bundle rolls out; ${roll}`,
        ],
      });
  }
  return out;
}

function clusterFields(a: Cluster, b: Cluster): FieldDelta[] {
  const pairs: [string, string | undefined, string | undefined][] = [
    ["context", a.context, b.context],
    ["apiServer", a.apiServer, b.apiServer],
    ["gateway.addresses", a.gateway?.addresses?.join(", "), b.gateway?.addresses?.join(", ")],
    ["gateway.port", a.gateway?.port?.toString(), b.gateway?.port?.toString()],
    ["linkerdNamespace", a.linkerdNamespace, b.linkerdNamespace],
    ["multiclusterNamespace", a.multiclusterNamespace, b.multiclusterNamespace],
    ["clusterDomain", a.clusterDomain, b.clusterDomain],
  ];
  return pairs
    .filter(([, x, y]) => x !== y)
    .map(([field, before, after]) => ({
      field,
      ...(before !== undefined ? { before } : {}),
      ...(after !== undefined ? { after } : {}),
    }));
}

function clusters(base: Topology, head: Topology): TopologyChange[] {
  const b = new Map(base.clusters.map((c) => [c.name, c]));
  const h = new Map(head.clusters.map((c) => [c.name, c]));
  const out: TopologyChange[] = [];
  for (const [name, c] of h) {
    const was = b.get(name);
    if (!was)
      out.push({
        kind: "cluster-added",
        cluster: name,
        implications: [`crosslink manages ${name} through the kubeconfig context ${c.context}`],
      });
    else {
      const fields = clusterFields(was, c);
      if (fields.length)
        out.push({ kind: "cluster-changed", cluster: name, fields, implications: clusterImplications(name, fields) });
    }
  }
  for (const name of b.keys()) {
    if (!h.has(name))
      out.push({
        kind: "cluster-removed",
        cluster: name,
        implications: [
          `crosslink stops reading and writing ${name}: what it created there stays until removed by hand`,
        ],
      });
  }
  return out;
}

function clusterImplications(name: string, fields: FieldDelta[]): string[] {
  return fields.map((f) =>
    f.field === "apiServer" || f.field.startsWith("gateway")
      ? `the Links other clusters hold for ${name} are rewritten with the new ${f.field}`
      : f.field === "context"
        ? `crosslink reaches ${name} through the kubeconfig context ${f.after ?? name}`
        : `crosslink looks for Linkerd's objects of ${name} under the new ${f.field}`,
  );
}

function linkFields(a: Link, b: Link): FieldDelta[] {
  const pairs: [string, string, string][] = [
    ["controller", a.controller, b.controller],
    ["credentials.mode", a.credentials.mode, b.credentials.mode],
    ["credentials.ttl", formatDuration(a.credentials.ttlSeconds), formatDuration(b.credentials.ttlSeconds)],
    ["excludedLabels", a.excludedLabels.join(", "), b.excludedLabels.join(", ")],
    ["excludedAnnotations", a.excludedAnnotations.join(", "), b.excludedAnnotations.join(", ")],
  ];
  return pairs.filter(([, x, y]) => x !== y).map(([field, before, after]) => ({ field, before, after }));
}

function links(s: { base: TopologyIndex; head: TopologyIndex }): TopologyChange[] {
  const out: TopologyChange[] = [];
  for (const [id, l] of s.head.links) {
    const was = s.base.links.get(id);
    if (!was) out.push({ kind: "link-added", from: l.from, to: l.to, implications: imply.linkAdded(s, l) });
    else {
      const fields = linkFields(was, l);
      if (fields.length)
        out.push({ kind: "link-changed", from: l.from, to: l.to, fields, implications: imply.linkChanged(was, l) });
    }
  }
  for (const [id, l] of s.base.links)
    if (!s.head.links.has(id))
      out.push({ kind: "link-removed", from: l.from, to: l.to, implications: imply.linkRemoved(s, l) });
  return out;
}

function exportChanges(s: { base: TopologyIndex; head: TopologyIndex }): TopologyChange[] {
  const out: TopologyChange[] = [];
  for (const [id, e] of s.head.exports) {
    const was = s.base.exports.get(id);
    if (!was) out.push({ kind: "export-added", ...e, implications: imply.exportAdded(s, e) });
    else if (was.mode !== e.mode) {
      const key = { cluster: e.cluster, namespace: e.namespace, service: e.service };
      out.push({
        kind: "export-mode-changed",
        ...key,
        before: was.mode,
        after: e.mode,
        implications: imply.exportModeChanged(s, key, was.mode, e.mode),
      });
    }
  }
  for (const [id, e] of s.base.exports)
    if (!s.head.exports.has(id)) out.push({ kind: "export-removed", ...e, implications: imply.exportRemoved(s, e) });
  return out;
}

/** Pairs the backends of a split at base and head, with weights and shares. */
export function weightChanges(before: Split | undefined, after: Split | undefined): WeightChange[] {
  const rows = new Map<string, WeightChange>();
  const add = (split: Split | undefined, side: "before" | "after") => {
    if (!split) return;
    const total = split.backends.reduce((n, b) => n + b.weight, 0);
    for (const b of split.backends) {
      const backend = b.cluster ? `${b.service}@${b.cluster}` : b.service;
      const row = rows.get(backend) ?? { backend, service: b.service, ...(b.cluster ? { cluster: b.cluster } : {}) };
      row[side] = (row[side] ?? 0) + b.weight;
      row[`${side}Percent`] = percent(row[side], total);
      rows.set(backend, row);
    }
  };
  add(before, "before");
  add(after, "after");
  return [...rows.values()];
}

function splits(s: { base: TopologyIndex; head: TopologyIndex }): TopologyChange[] {
  const out: TopologyChange[] = [];
  for (const [id, sp] of s.head.splits) {
    const was = s.base.splits.get(id);
    const key = { cluster: sp.cluster, namespace: sp.namespace, service: sp.service };
    const weights = weightChanges(was, sp);
    if (!was)
      out.push({ kind: "split-added", ...key, weights, implications: imply.splitImplications(key, weights, "added") });
    else {
      const moved = weights.some((w) => w.before !== w.after);
      const api =
        was.api !== sp.api
          ? { field: "api", before: was.api ?? "(cluster default)", after: sp.api ?? "(cluster default)" }
          : undefined;
      if (moved || api) {
        const implications = imply.splitImplications(key, weights, "changed");
        if (api)
          implications.push(
            `the route of ${sp.namespace}/${sp.service} in ${sp.cluster} is written with the ${api.after} API instead of ${api.before}`,
          );
        out.push({ kind: "split-changed", ...key, weights, ...(api ? { api } : {}), implications });
      }
    }
  }
  for (const [id, sp] of s.base.splits) {
    if (s.head.splits.has(id)) continue;
    const key = { cluster: sp.cluster, namespace: sp.namespace, service: sp.service };
    const weights = weightChanges(sp, undefined);
    out.push({
      kind: "split-removed",
      ...key,
      weights,
      implications: imply.splitImplications(key, weights, "removed"),
    });
  }
  return out;
}

/** The graph the diagram draws: every cluster and link of either side, with its status. */
export function reviewGraph(base: Topology, head: Topology, changes: readonly TopologyChange[]): ReviewGraph {
  const status = (inBase: boolean, inHead: boolean, changed: boolean): GraphStatus =>
    !inBase ? "added" : !inHead ? "removed" : changed ? "changed" : "kept";
  const bc = new Set(base.clusters.map((c) => c.name));
  const hc = new Set(head.clusters.map((c) => c.name));
  const changedClusters = new Set(changes.flatMap((c) => (c.kind === "cluster-changed" ? [c.cluster] : [])));
  const nodes = [...new Set([...head.clusters.map((c) => c.name), ...base.clusters.map((c) => c.name)])].map(
    (cluster) => ({
      cluster,
      status: status(bc.has(cluster), hc.has(cluster), changedClusters.has(cluster)),
    }),
  );
  const b = indexTopology(base).links;
  const h = indexTopology(head).links;
  const changedLinks = new Set(changes.flatMap((c) => (c.kind === "link-changed" ? [`${c.from}→${c.to}`] : [])));
  const edges = [...new Set([...h.keys(), ...b.keys()])].map((id) => {
    const l = (h.get(id) ?? b.get(id))!;
    return { from: l.from, to: l.to, status: status(b.has(id), h.has(id), changedLinks.has(id)) };
  });
  return { nodes, edges };
}
