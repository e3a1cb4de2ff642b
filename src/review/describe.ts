/** Titles, symbols and grouping of changes, shared by every renderer. */
import type { ChangeKind, Review, TopologyChange, WeightChange } from "./types.js";

/** `+` added, `-` removed, `~` changed. */
export function changeSymbol(c: TopologyChange): "+" | "-" | "~" {
  if (c.kind.endsWith("-added")) return "+";
  if (c.kind.endsWith("-removed")) return "-";
  return "~";
}

/** A one-line title naming the object first. */
export function changeTitle(c: TopologyChange): string {
  switch (c.kind) {
    case "topology-renamed":
      return `topology renamed: ${c.before} → ${c.after}`;
    case "manage-trust-changed":
      return `manageTrust: ${c.before} → ${c.after}`;
    case "cluster-added":
      return `cluster ${c.cluster} added`;
    case "cluster-removed":
      return `cluster ${c.cluster} removed`;
    case "cluster-changed":
      return `cluster ${c.cluster} changed: ${c.fields.map((f) => `${f.field} ${f.before ?? "(none)"} → ${f.after ?? "(none)"}`).join("; ")}`;
    case "link-added":
      return `link ${c.from} → ${c.to} added`;
    case "link-removed":
      return `link ${c.from} → ${c.to} removed`;
    case "link-changed":
      return `link ${c.from} → ${c.to} changed: ${c.fields.map((f) => `${f.field} ${f.before || "(none)"} → ${f.after || "(none)"}`).join("; ")}`;
    case "export-added":
      return `export ${c.namespace}/${c.service} of ${c.cluster} added (${c.mode})`;
    case "export-removed":
      return `export ${c.namespace}/${c.service} of ${c.cluster} removed (was ${c.mode})`;
    case "export-mode-changed":
      return `export ${c.namespace}/${c.service} of ${c.cluster}: mode ${c.before} → ${c.after}`;
    case "split-added":
      return `split ${c.namespace}/${c.service} in ${c.cluster} added`;
    case "split-removed":
      return `split ${c.namespace}/${c.service} in ${c.cluster} removed`;
    case "split-changed":
      return `split ${c.namespace}/${c.service} in ${c.cluster}: weights${c.api ? " and api" : ""} changed`;
    case "trust-anchor-added":
      return `trust anchor ${c.name} added (sha256 ${c.fingerprint.slice(0, 16)}…${c.subject ? `, ${c.subject}` : ""})`;
    case "trust-anchor-removed":
      return `trust anchor ${c.name} removed (sha256 ${c.fingerprint.slice(0, 16)}…${c.subject ? `, ${c.subject}` : ""})`;
  }
}

/** The section a change belongs to: the cluster it is written in, or `undefined` for mesh-wide changes. */
export function changeCluster(c: TopologyChange): string | undefined {
  switch (c.kind) {
    case "cluster-added":
    case "cluster-removed":
    case "cluster-changed":
    case "export-added":
    case "export-removed":
    case "export-mode-changed":
    case "split-added":
    case "split-removed":
    case "split-changed":
      return c.cluster;
    case "link-added":
    case "link-removed":
    case "link-changed":
      return c.from;
    default:
      return undefined;
  }
}

/** The changes grouped by section, mesh-wide first, then clusters by name. */
export function changesBySection(
  changes: readonly TopologyChange[],
): { cluster?: string; changes: TopologyChange[] }[] {
  const mesh: TopologyChange[] = [];
  const byCluster = new Map<string, TopologyChange[]>();
  for (const c of changes) {
    const k = changeCluster(c);
    if (k === undefined) mesh.push(c);
    else byCluster.set(k, [...(byCluster.get(k) ?? []), c]);
  }
  const out: { cluster?: string; changes: TopologyChange[] }[] = mesh.length ? [{ changes: mesh }] : [];
  for (const k of [...byCluster.keys()].sort()) out.push({ cluster: k, changes: byCluster.get(k)! });
  return out;
}

const NOUNS: Partial<Record<ChangeKind, [string, string]>> = {
  "cluster-added": ["cluster added", "clusters added"],
  "cluster-removed": ["cluster removed", "clusters removed"],
  "cluster-changed": ["cluster changed", "clusters changed"],
  "link-added": ["link added", "links added"],
  "link-removed": ["link removed", "links removed"],
  "link-changed": ["link changed", "links changed"],
  "export-added": ["export added", "exports added"],
  "export-removed": ["export removed", "exports removed"],
  "export-mode-changed": ["export mode changed", "export modes changed"],
  "split-added": ["split added", "splits added"],
  "split-removed": ["split removed", "splits removed"],
  "split-changed": ["split changed", "splits changed"],
  "trust-anchor-added": ["trust anchor added", "trust anchors added"],
  "trust-anchor-removed": ["trust anchor removed", "trust anchors removed"],
  "topology-renamed": ["topology renamed", "topology renamed"],
  "manage-trust-changed": ["manageTrust changed", "manageTrust changed"],
};

/** Counts of changes by kind, in a stable order. */
export function countByKind(changes: readonly TopologyChange[]): Partial<Record<ChangeKind, number>> {
  const out: Partial<Record<ChangeKind, number>> = {};
  for (const k of Object.keys(NOUNS) as ChangeKind[]) {
    const n = changes.filter((c) => c.kind === k).length;
    if (n) out[k] = n;
  }
  return out;
}

/** `2 links removed, 1 split changed`, or `no topology changes`. */
export function describeChanges(review: Review): string {
  const parts = Object.entries(countByKind(review.changes)).map(
    ([k, n]) => `${n} ${NOUNS[k as ChangeKind]![n === 1 ? 0 : 1]}`,
  );
  return parts.length ? parts.join(", ") : "no topology changes";
}

/** A short commit id. */
export function short(oid: string): string {
  return oid.slice(0, 7);
}

/** A revision as `main (1a2b3c4)`, or just the short id when the revision was given as a sha. */
export function revLabel(r: { rev: string; oid: string }, code = false): string {
  if (r.oid.startsWith(r.rev.toLowerCase())) return code ? `\`${short(r.oid)}\`` : short(r.oid);
  return `${code ? `\`${r.rev}\`` : r.rev} (${short(r.oid)})`;
}

/** Whether a backend's weight or share moved. */
export function weightMoved(w: WeightChange): boolean {
  return w.before !== w.after || w.beforePercent !== w.afterPercent;
}
