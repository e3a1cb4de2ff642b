/**
 * What each kind of change implies, in a reviewer's words ("west will stop
 * mirroring web-svc from east"). Pure: reads the indexed base and head.
 */
import { mirrorName } from "../engine/names.js";
import { formatDuration } from "../topology/index.js";
import { exportModeInfo } from "../extensions/export-modes.js";
import type { ExportMode, Link } from "../topology/types.js";
import { exportsOf, linksInto, type ExportedService, type TopologyIndex } from "./index-maps.js";
import type { ExportKey, LinkKey, SplitKey, WeightChange } from "./types.js";

/** The base and head a change is judged against. */
export interface Sides {
  base: TopologyIndex;
  head: TopologyIndex;
}

function mirrorOf(e: ExportKey & { mode: ExportMode }): string {
  return `${e.namespace}/${mirrorName(e.service, e.cluster, exportModeInfo(e.mode).federated)}`;
}

function mirrorLine(from: string, e: ExportedService, verb: "will mirror" | "will stop mirroring"): string {
  if (exportModeInfo(e.mode).federated) {
    return verb === "will mirror"
      ? `${from} will see ${e.service} from ${e.cluster} as a member of ${mirrorOf(e)}`
      : `${e.cluster} will leave ${mirrorOf(e)} in ${from} (${from} stops sending to its ${e.service})`;
  }
  return verb === "will mirror"
    ? `${from} will mirror ${e.service} from ${e.cluster} as ${mirrorOf(e)}`
    : `${from} will stop mirroring ${e.service} from ${e.cluster} (${mirrorOf(e)} is deleted)`;
}

/** A link appears: the Link, its credentials and what it mirrors. */
export function linkAdded(s: Sides, l: Link): string[] {
  const out = [
    `crosslink creates the Link ${l.to}, its ${l.credentials.mode} credentials${l.credentials.mode === "token-request" ? ` (ttl ${formatDuration(l.credentials.ttlSeconds)})` : ""} and ${l.controller === "managed" ? "a mirror controller" : "no controller (external)"} in ${l.from}`,
  ];
  const exported = exportsOf(s.head, l.to);
  out.push(...exported.map((e) => mirrorLine(l.from, e, "will mirror")));
  if (!exported.length) out.push(`${l.to} exports nothing yet: ${l.from} mirrors no service`);
  return out;
}

/** A link disappears: what `from` stops mirroring. */
export function linkRemoved(s: Sides, l: LinkKey): string[] {
  const out = [
    `crosslink deletes the Link ${l.to}, its credentials and mirror controller from ${l.from}, and the remote-access account in ${l.to}`,
  ];
  out.push(...exportsOf(s.base, l.to).map((e) => mirrorLine(l.from, e, "will stop mirroring")));
  return out;
}

/** A link's settings change. */
export function linkChanged(before: Link, after: Link): string[] {
  const out: string[] = [];
  if (before.credentials.mode !== after.credentials.mode)
    out.push(`the credentials ${after.from} uses to read ${after.to} are issued again as ${after.credentials.mode}`);
  else if (before.credentials.ttlSeconds !== after.credentials.ttlSeconds)
    out.push(`new tokens for ${after.from} → ${after.to} live ${formatDuration(after.credentials.ttlSeconds)}`);
  if (before.controller !== after.controller) {
    out.push(
      after.controller === "external"
        ? `crosslink stops rendering the mirror controller for ${after.to} in ${after.from}; Linkerd's Helm \`controllers\` value must run it`
        : `crosslink renders the mirror controller for ${after.to} in ${after.from}`,
    );
  }
  if (
    before.excludedLabels.join() !== after.excludedLabels.join() ||
    before.excludedAnnotations.join() !== after.excludedAnnotations.join()
  ) {
    out.push(`mirrors in ${after.from} copy a different set of labels/annotations from ${after.to}`);
  }
  return out;
}

/** A service is exported. */
export function exportAdded(s: Sides, e: ExportedService): string[] {
  const out = [`crosslink labels ${e.namespace}/${e.service} in ${e.cluster} as exported (${e.mode})`];
  const links = linksInto(s.head, e.cluster);
  out.push(...links.map((l) => mirrorLine(l.from, e, "will mirror")));
  if (!links.length) out.push(`no cluster links to ${e.cluster}: nothing mirrors it yet`);
  return out;
}

/** A service is no longer exported. */
export function exportRemoved(s: Sides, e: ExportedService): string[] {
  return [
    `crosslink removes its export label from ${e.namespace}/${e.service} in ${e.cluster}`,
    ...linksInto(s.base, e.cluster).map((l) => mirrorLine(l.from, e, "will stop mirroring")),
  ];
}

/** An export's mode changes. */
export function exportModeChanged(s: Sides, e: ExportKey, before: ExportMode, after: ExportMode): string[] {
  const out: string[] = [];
  for (const l of linksInto(s.head, e.cluster)) {
    const was = mirrorOf({ ...e, mode: before });
    const now = mirrorOf({ ...e, mode: after });
    if (was !== now)
      out.push(
        `${l.from} mirrors ${e.service} from ${e.cluster} as ${now} instead of ${was}; remote split backends follow the new name`,
      );
    else
      out.push(
        `${l.from}'s ${now} reaches ${e.cluster} ${exportModeInfo(after).route} instead of ${exportModeInfo(before).route}`,
      );
  }
  return out;
}

function weightText(w: WeightChange, side: "before" | "after"): string {
  const v = w[side];
  return v === undefined ? "—" : `${v} (${w[`${side}Percent`] ?? 0}%)`;
}

/** A split's weights change (or it appears/disappears). */
export function splitImplications(
  key: SplitKey,
  weights: WeightChange[],
  how: "added" | "removed" | "changed",
): string[] {
  const where = `${key.namespace}/${key.service} in ${key.cluster}`;
  if (how === "removed")
    return [`crosslink deletes the route of ${where}: all its traffic goes to the Service's own endpoints`];
  const lines = weights
    .filter((w) => how === "added" || w.before !== w.after || w.beforePercent !== w.afterPercent)
    .map((w) =>
      how === "added"
        ? `${where} sends ${weightText(w, "after")} to ${w.backend}`
        : `${where}: ${w.backend} ${weightText(w, "before")} → ${weightText(w, "after")}`,
    );
  return lines;
}
