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
import type { Cluster, Link } from "../../topology/types.js";
import { CONTROLLER_SHARED_CLUSTER_ROLE, LINK_LABEL, linkNames } from "../names.js";
import { renderCredentials } from "./credentials.js";
import { renderExports } from "./exports.js";
import { controllerSharedRole, renderController, renderLink } from "./source.js";
import { renderSplits } from "./splits.js";
import { renderTargetAccess } from "./target.js";
import { renderTrust } from "./trust.js";
import type { DesiredCluster, RenderInput } from "./desired.js";
import type { ClusterFacts } from "../facts.js";

/** Renders the desired state of every observed cluster. */
export function render(input: RenderInput): Map<string, DesiredCluster> {
  const { topology, facts, now, rotateCredentials = false } = input;
  const clusters = new Map<string, Cluster>(topology.clusters.map((c) => [c.name, c]));
  const out = new Map<string, DesiredCluster>();
  for (const name of facts.keys()) {
    out.set(name, { cluster: name, objects: [], patches: [], credentials: [], keep: new Set(), findings: [] });
  }
  const desired = (name: string) => out.get(name);

  for (const link of topology.links) {
    const from = clusters.get(link.from)!;
    const to = clusters.get(link.to)!;
    const src = desired(link.from);
    const dst = desired(link.to);
    if (dst) dst.objects.push(...renderTargetAccess(topology.name, link, to));
    if (!src) continue;
    const fromFacts = facts.get(link.from)!;
    const toFacts = facts.get(link.to);
    if (link.controller === "managed") {
      const controller = renderController(topology.name, link, from, fromFacts);
      src.objects.push(...controller.objects);
      src.findings.push(...controller.findings);
      if (!controller.objects.length) keepLinkObjects(src, fromFacts, link, CONTROLLER_KINDS);
      if (!src.objects.some((o) => o.kind === "ClusterRole" && o.metadata.name === CONTROLLER_SHARED_CLUSTER_ROLE)) {
        const shared = controllerSharedRole(topology.name, fromFacts);
        if (shared) src.objects.push(shared);
      }
    }
    if (!toFacts || !fromFacts.linkerd || !toFacts.linkerd) {
      keepLinkObjects(src, fromFacts, link);
      src.findings.push({
        severity: "error",
        code: "XL606",
        cluster: link.from,
        message: `link ${link.from}→${link.to}: ${!toFacts ? `${link.to} could not be observed` : `Linkerd is not readable in ${!fromFacts.linkerd ? link.from : link.to}`}; its Link and credentials are left as they are`,
      });
      continue;
    }
    const rendered = renderLink(topology.name, link, from, to, fromFacts, toFacts);
    src.findings.push(...rendered.findings);
    if (rendered.object) src.objects.push(rendered.object);
    else keepLinkObjects(src, fromFacts, link, new Set(["Link"]));
    const creds = renderCredentials(topology.name, link, from, to, fromFacts, toFacts, now, rotateCredentials);
    src.objects.push(...creds.objects);
    if (creds.issue) {
      src.credentials.push(creds.issue);
      for (const s of creds.issue.secrets) src.keep.add(objectKey(refOf(s)));
      if (creds.issue.op === "rotate" && link.controller === "external") {
        src.findings.push({
          severity: "warning",
          code: "XL607",
          cluster: link.from,
          message: `link ${link.from}→${link.to}: credentials are renewed, but the mirror controller is external; it reads them only when it restarts`,
          hint: `restart the controller of link ${link.to} (e.g. kubectl rollout restart deploy/controller-${link.to} -n ${from.multiclusterNamespace})`,
        });
      }
    }
  }

  const trust = renderTrust(topology, facts);
  for (const f of trust.findings) (f.cluster ? desired(f.cluster) : undefined)?.findings.push(f);
  for (const [name, patches] of trust.patches) desired(name)?.patches.push(...patches);

  for (const [name, f] of facts) {
    const d = desired(name)!;
    const exports = renderExports(topology, f);
    d.patches.push(...exports.patches);
    d.findings.push(...exports.findings);
    const splits = renderSplits(topology, f);
    d.objects.push(...splits.objects);
    d.findings.push(...splits.findings);
  }
  return out;
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
