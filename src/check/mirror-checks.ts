/**
 * Mirror checks (pure): every export of a link's target has its mirror in the
 * source, with ready endpoints; no mirror Service is left whose link or
 * export is gone; every split's remote backend names a mirror that exists.
 */
import type { ClusterFacts } from "../engine/facts.js";
import { nsName } from "../engine/facts.js";
import { CLUSTER_NAME_LABEL, MIRRORED_GATEWAY_LABEL, mirrorName } from "../engine/names.js";
import { exportModeInfo } from "../extensions/export-modes.js";
import type { KubeObject } from "../kube/object.js";
import type { Link, Topology } from "../topology/types.js";
import { ok, problem, type CheckResult } from "./types.js";

/** Annotation of a federated Service naming its remote members (`svc@cluster,…`). */
export const REMOTE_DISCOVERY_ANNOTATION = "multicluster.linkerd.io/remote-discovery";
/** Label of a remote-discovery mirror naming the remote Service. */
export const REMOTE_SERVICE_LABEL = "multicluster.linkerd.io/remote-service";
/** Label of the per-host Services of a headless mirror. */
export const HEADLESS_MIRROR_LABEL = "mirror.linkerd.io/headless-mirror-svc-name";
/** Annotation naming the remote Service's fully qualified name. */
export const REMOTE_FQ_NAME_ANNOTATION = "mirror.linkerd.io/remote-svc-fq-name";

/** Whether an Endpoints object has ready addresses, has only not-ready ones, or has none. */
export function endpointsState(eps: KubeObject | undefined): "ready" | "not-ready" | "none" {
  const subsets = (eps?.subsets ?? []) as { addresses?: unknown[]; notReadyAddresses?: unknown[] }[];
  if (subsets.some((s) => (s.addresses?.length ?? 0) > 0)) return "ready";
  if (subsets.some((s) => (s.notReadyAddresses?.length ?? 0) > 0)) return "not-ready";
  return "none";
}

/** The `svc@cluster` members a federated Service names. */
function federatedMembers(m: KubeObject): string[] {
  return (m.metadata.annotations?.[REMOTE_DISCOVERY_ANNOTATION] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A link's mirrors: each export of the target mirrored in the source, each mirror with endpoints. */
export function linkMirrorChecks(
  topology: Topology,
  link: Link,
  fromFacts: ClusterFacts,
  endpoints: { from: ReadonlyMap<string, KubeObject>; to?: ReadonlyMap<string, KubeObject> },
): CheckResult[] {
  const category = `link ${link.from}→${link.to}`;
  const exports = topology.exports.filter((e) => e.cluster === link.to);
  const count = exports.reduce((n, e) => n + e.services.length, 0);
  if (!count) return [];
  const mirrors = new Map(fromFacts.mirrors.map((m) => [nsName(m.metadata.namespace ?? "", m.metadata.name), m]));
  const missing: string[] = [];
  const noEndpoints: string[] = [];
  let withEndpoints = 0;
  for (const e of exports) {
    const mode = exportModeInfo(e.mode);
    for (const svc of e.services) {
      const name = mirrorName(svc, link.to, mode.federated);
      const mirror = mirrors.get(nsName(e.namespace, name));
      if (!mirror) {
        missing.push(`${e.namespace}/${name} (${e.mode} export of ${e.namespace}/${svc})`);
        continue;
      }
      if (mode.federated && !federatedMembers(mirror).includes(`${svc}@${link.to}`)) {
        missing.push(`${e.namespace}/${name} does not name member ${svc}@${link.to}`);
        continue;
      }
      // Gateway mirrors get Endpoints at the gateway; the other modes resolve to the exported Service's own.
      const state =
        e.mode === "gateway"
          ? endpointsState(endpoints.from.get(nsName(e.namespace, name)))
          : endpoints.to
            ? endpointsState(endpoints.to.get(nsName(e.namespace, svc)))
            : undefined;
      if (state !== undefined) withEndpoints++;
      if (state === "none")
        noEndpoints.push(
          e.mode === "gateway"
            ? `${e.namespace}/${name}: no addresses`
            : `${e.namespace}/${svc} in ${link.to}: no addresses`,
        );
      else if (state === "not-ready")
        noEndpoints.push(`${e.namespace}/${name}: addresses not ready (the gateway probe fails)`);
    }
  }
  const out: CheckResult[] = [];
  const title = `every export of ${link.to} has its mirror in ${link.from}`;
  out.push(
    missing.length
      ? problem(
          category,
          title,
          "XL931",
          `${missing.length} of ${count} missing:\n${missing.join("\n")}`,
          `the mirror controller creates them: check it is running (Lease check above) and that the Service is labelled in ${link.to} (\`crosslink diff\`)`,
        )
      : ok(category, title, `${count} mirror(s)`),
  );
  const epTitle = "every mirror has ready endpoints";
  if (withEndpoints)
    out.push(
      noEndpoints.length
        ? problem(
            category,
            epTitle,
            "XL932",
            noEndpoints.join("\n"),
            `check the exported Services have ready pods in ${link.to} and that ${link.to}'s gateway is alive`,
          )
        : ok(category, epTitle, `${withEndpoints} mirror(s)`),
    );
  return out;
}

/** The remote Service a gateway or remote-discovery mirror stands for. */
function remoteServiceOf(m: KubeObject, target: string): string {
  const label = m.metadata.labels?.[REMOTE_SERVICE_LABEL];
  if (label) return label;
  const fq = m.metadata.annotations?.[REMOTE_FQ_NAME_ANNOTATION];
  if (fq) return fq.split(".")[0]!;
  return m.metadata.name.endsWith(`-${target}`) ? m.metadata.name.slice(0, -(target.length + 1)) : m.metadata.name;
}

/** A cluster's mirror Services whose link or export the topology no longer has. */
export function orphanCheck(topology: Topology, facts: ClusterFacts): CheckResult {
  const category = `cluster ${facts.cluster}`;
  const linked = new Set(topology.links.filter((l) => l.from === facts.cluster).map((l) => l.to));
  const exported = (cluster: string, namespace: string, svc: string, federated: boolean) =>
    topology.exports.some(
      (e) =>
        e.cluster === cluster &&
        e.namespace === namespace &&
        e.services.includes(svc) &&
        exportModeInfo(e.mode).federated === federated,
    );
  const orphans: string[] = [];
  for (const m of facts.mirrors) {
    const labels = m.metadata.labels ?? {};
    if (labels[MIRRORED_GATEWAY_LABEL] || labels[HEADLESS_MIRROR_LABEL]) continue;
    const ns = m.metadata.namespace ?? "";
    const id = `${ns}/${m.metadata.name}`;
    const target = labels[CLUSTER_NAME_LABEL];
    if (target) {
      const svc = remoteServiceOf(m, target);
      if (!linked.has(target)) orphans.push(`${id}: no link ${facts.cluster}→${target}`);
      else if (!exported(target, ns, svc, false)) orphans.push(`${id}: ${ns}/${svc} is not exported by ${target}`);
      continue;
    }
    for (const member of federatedMembers(m)) {
      const [svc, cluster] = member.split("@") as [string, string | undefined];
      if (!cluster) continue;
      if (!linked.has(cluster)) orphans.push(`${id}: member ${member}, no link ${facts.cluster}→${cluster}`);
      else if (!exported(cluster, ns, svc, true)) orphans.push(`${id}: member ${member} is not a federated export`);
    }
  }
  const title = "no orphaned mirror Services";
  return orphans.length
    ? problem(
        category,
        title,
        "XL933",
        orphans.join("\n"),
        "`crosslink apply` deletes mirrors an unlink left behind; a mirror of a removed export is deleted by the running mirror controller",
      )
    : ok(category, title, `${facts.mirrors.length} mirror(s) checked`);
}

/** Each split with remote backends: every backend's mirror exists in the split's cluster. */
export function splitChecks(topology: Topology, facts: ReadonlyMap<string, ClusterFacts>): CheckResult[] {
  const federated = new Set(
    topology.exports
      .filter((e) => exportModeInfo(e.mode).federated)
      .flatMap((e) => e.services.map((s) => `${e.cluster}/${e.namespace}/${s}`)),
  );
  const out: CheckResult[] = [];
  for (const split of topology.splits) {
    const f = facts.get(split.cluster);
    const remote = split.backends.filter((b) => b.cluster && b.cluster !== split.cluster);
    if (!f || !remote.length) continue;
    const title = `split ${split.cluster}/${split.namespace}/${split.service} sends to mirrors that exist`;
    const names = new Set(
      f.mirrors.filter((m) => m.metadata.namespace === split.namespace).map((m) => m.metadata.name),
    );
    const missing = remote
      .map((b) => mirrorName(b.service, b.cluster!, federated.has(`${b.cluster}/${split.namespace}/${b.service}`)))
      .filter((n) => !names.has(n));
    out.push(
      missing.length
        ? problem(
            "splits",
            title,
            "XL951",
            `no mirror Service ${missing.map((n) => `${split.namespace}/${n}`).join(", ")} in ${split.cluster}`,
            "export the backend from its cluster and link to it, or wait for the mirror controller",
          )
        : ok("splits", title, `${remote.length} remote backend(s)`),
    );
  }
  return out;
}
