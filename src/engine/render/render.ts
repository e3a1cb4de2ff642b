/**
 * render (pure): Topology × observations → the desired objects, patches and
 * credential issues of every cluster, exactly as Linkerd's own `link-gen`,
 * `allow` and controller chart would produce them, plus owner labels.
 *
 * Where a fact needed for an object is missing (a cluster unreachable, Linkerd
 * absent), render does not guess: the objects it would have produced are put
 * in `keep`, so plan neither changes nor prunes them.
 */
import { objectKey, refOf } from "../../kube/object.js";
import type { Cluster, Link, Topology } from "../../topology/types.js";
import { CONTROLLER_SHARED_CLUSTER_ROLE, LINK_LABEL, linkNames } from "../names.js";
import { formatSeconds, renderCredentials } from "./credentials.js";
import { renderExports } from "./exports.js";
import { controllerSharedRole, renderController, renderLink } from "./source.js";
import { renderSplits } from "./splits.js";
import { renderTargetAccess } from "./target.js";
import { renderTrust } from "./trust.js";
import type { DesiredCluster, Finding, RenderInput } from "./desired.js";
import type { ClusterFacts } from "../facts.js";

/** Renders the desired state of every observed cluster. */
export function render(input: RenderInput): Map<string, DesiredCluster> {
  return new Map([...input.facts.keys()].map((name) => [name, renderCluster(input, name)]));
}

/**
 * The clusters whose facts one cluster's desired state is rendered from: itself
 * and the targets of its links (their endpoints, credentials and anchors); or
 * every cluster when a trust rotation may be under way (a `next` anchor, or
 * `manageTrust` dropping an anchor), whose stage is decided from all of them.
 */
export function renderDependencies(topology: Topology, cluster: string): string[] {
  if (topology.manageTrust || topology.trustAnchors.some((a) => a.role === "next"))
    return [cluster, ...topology.clusters.map((c) => c.name).filter((n) => n !== cluster)];
  return [...new Set([cluster, ...topology.links.filter((l) => l.from === cluster).map((l) => l.to)])];
}

/**
 * Renders the desired state of one observed cluster. It reads the facts of
 * `renderDependencies(cluster)` only; one missing there was unreachable.
 */
export function renderCluster(input: RenderInput, name: string): DesiredCluster {
  const { topology, facts, now, rotateCredentials = false } = input;
  const clusters = new Map<string, Cluster>(topology.clusters.map((c) => [c.name, c]));
  const d: DesiredCluster = { cluster: name, objects: [], patches: [], credentials: [], keep: new Set(), findings: [] };
  const own = facts.get(name)!;

  for (const link of topology.links) {
    if (link.to === name) d.objects.push(...renderTargetAccess(topology.name, link, clusters.get(link.to)!));
    if (link.from !== name) continue;
    const from = clusters.get(link.from)!;
    const to = clusters.get(link.to)!;
    const toFacts = facts.get(link.to);
    if (link.controller === "managed") {
      const controller = renderController(topology.name, link, from, own);
      d.objects.push(...controller.objects);
      d.findings.push(...controller.findings);
      if (!controller.objects.length) keepLinkObjects(d, own, link, CONTROLLER_KINDS);
      if (!d.objects.some((o) => o.kind === "ClusterRole" && o.metadata.name === CONTROLLER_SHARED_CLUSTER_ROLE)) {
        const shared = controllerSharedRole(topology.name, own);
        if (shared) d.objects.push(shared);
      }
    }
    if (!toFacts || !own.linkerd || !toFacts.linkerd) {
      keepLinkObjects(d, own, link);
      d.findings.push({
        severity: "error",
        code: "XL606",
        cluster: link.from,
        message: `link ${link.from}→${link.to}: ${!toFacts ? `${link.to} could not be observed` : `Linkerd is not readable in ${!own.linkerd ? link.from : link.to}`}; its Link and credentials are left as they are`,
      });
      continue;
    }
    const rendered = renderLink(topology.name, link, from, to, own, toFacts);
    d.findings.push(...rendered.findings);
    if (rendered.object) d.objects.push(rendered.object);
    else keepLinkObjects(d, own, link, new Set(["Link"]));
    const skew = clockSkewFinding(link, toFacts);
    if (skew) d.findings.push(skew);
    const creds = renderCredentials(topology.name, link, from, to, own, toFacts, now, rotateCredentials);
    d.objects.push(...creds.objects);
    if (creds.issue) {
      d.credentials.push(creds.issue);
      for (const s of creds.issue.secrets) d.keep.add(objectKey(refOf(s)));
      if (creds.issue.op === "rotate" && link.controller === "external") {
        d.findings.push({
          severity: "warning",
          code: "XL607",
          cluster: link.from,
          message: `link ${link.from}→${link.to}: credentials are renewed, but the mirror controller is external; it reads them only when it restarts`,
          hint: `restart the controller of link ${link.to} (e.g. kubectl rollout restart deploy/controller-${link.to} -n ${from.multiclusterNamespace})`,
        });
      }
    }
  }

  // Trust reads this cluster and its link targets (XL635 compares their anchors), or every cluster during a
  // rotation; only this cluster's part is kept.
  const near = new Map<string, ClusterFacts>();
  for (const dep of renderDependencies(topology, name)) {
    const f = facts.get(dep);
    if (f) near.set(dep, f);
  }
  const trust = renderTrust(topology, near);
  d.findings.push(...trust.findings.filter((f) => f.cluster === name));
  d.patches.push(...(trust.patches.get(name) ?? []));

  const exports = renderExports(topology, own);
  d.patches.push(...exports.patches);
  d.findings.push(...exports.findings);
  const splits = renderSplits(topology, own);
  d.objects.push(...splits.objects);
  d.findings.push(...splits.findings);
  return d;
}

/** How far this machine's clock may be from a link target's API server before XL609 says so. */
const CLOCK_SKEW_WARNING_MS = 60_000;

/** XL609 when this machine's clock is more than a minute off the link target's API server's. */
function clockSkewFinding(link: Link, toFacts: ClusterFacts): Finding | undefined {
  const offset = toFacts.clockOffsetMs;
  if (offset === undefined || Math.abs(offset) <= CLOCK_SKEW_WARNING_MS) return undefined;
  const by = formatSeconds(Math.round(Math.abs(offset) / 1000));
  return {
    severity: "warning",
    code: "XL609",
    cluster: link.from,
    message: `link ${link.from}→${link.to}: this machine's clock is ${by} ${offset < 0 ? "ahead of" : "behind"} ${link.to}'s API server; the link's token expiry is judged by ${link.to}'s clock`,
    hint: "sync this machine's clock (NTP); crosslink's own timers and certificate expiry warnings use it",
  };
}

/** Kinds of a managed controller's objects (the Services among them: its probe Service). */
const CONTROLLER_KINDS: ReadonlySet<string> = new Set([
  "ServiceAccount",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "Deployment",
  "Service",
]);

/** Marks the live objects of a link in its source cluster as "keep": their desired state is unknown this run. */
function keepLinkObjects(d: DesiredCluster, facts: ClusterFacts, link: Link, onlyKinds?: ReadonlySet<string>): void {
  const label = linkNames(link.from, link.to).linkLabel;
  for (const o of facts.owned) {
    if (o.metadata.labels?.[LINK_LABEL] === label && (!onlyKinds || onlyKinds.has(o.kind)))
      d.keep.add(objectKey(refOf(o)));
  }
}
