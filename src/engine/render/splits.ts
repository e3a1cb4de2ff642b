/**
 * Splits: a weighted route for one Service, as an HTTPRoute (Gateway API v1 or
 * policy.linkerd.io v1beta3) with the Service as parentRef, or an SMI
 * TrafficSplit, by the split's `api` or what the cluster serves. Remote
 * backends resolve to their mirror names.
 */
import type { KubeObject } from "../../kube/object.js";
import type { Split, SplitApi, Topology } from "../../topology/types.js";
import type { ClusterFacts } from "../facts.js";
import { nsName } from "../facts.js";
import { mirrorName } from "../names.js";
import { owned } from "./meta.js";
import type { Finding } from "./types.js";

const SPLIT_SUFFIX = "-split";

/** The name of the object a split renders to. */
export function splitObjectName(split: Pick<Split, "service">): string {
  return `${split.service}${SPLIT_SUFFIX}`;
}

/** The Service a split object's name was derived from (undefined: not a split's name). */
export function splitServiceOf(objectName: string): string | undefined {
  return objectName.endsWith(SPLIT_SUFFIX) && objectName.length > SPLIT_SUFFIX.length ? objectName.slice(0, -SPLIT_SUFFIX.length) : undefined;
}

/** The group and kind each split API writes. */
export const SPLIT_KINDS: Readonly<Record<SplitApi, { group: string; kind: string }>> = {
  gateway: { group: "gateway.networking.k8s.io", kind: "HTTPRoute" },
  linkerd: { group: "policy.linkerd.io", kind: "HTTPRoute" },
  smi: { group: "split.smi-spec.io", kind: "TrafficSplit" },
};

/** The split API that writes objects of this group and kind (undefined: not a split object). */
export function splitApiOfGroup(group: string, kind: string): SplitApi | undefined {
  return (Object.keys(SPLIT_KINDS) as SplitApi[]).find((api) => SPLIT_KINDS[api].group === group && SPLIT_KINDS[api].kind === kind);
}

/** Which API a split uses in a cluster: its own `api`, else Gateway API, Linkerd policy, SMI, in that order of preference. */
export function splitApi(split: Split, facts: ClusterFacts): { api: SplitApi; version: string } | undefined {
  const choices: [SplitApi, string[] | undefined, string][] = [
    ["gateway", facts.served.gatewayHttpRoute, "v1"],
    ["linkerd", facts.served.policyHttpRoute, "v1beta3"],
    ["smi", facts.served.smi, "v1alpha2"],
  ];
  for (const [api, served, preferred] of choices) {
    if (split.api && split.api !== api) continue;
    if (!served?.length) continue;
    return { api, version: served.includes(preferred) ? preferred : served[0]! };
  }
  return undefined;
}

/** Renders every split of one cluster. */
export function renderSplits(topology: Topology, facts: ClusterFacts): { objects: KubeObject[]; findings: Finding[] } {
  const objects: KubeObject[] = [];
  const findings: Finding[] = [];
  const federated = new Set(
    topology.exports.filter((e) => e.mode === "federated").flatMap((e) => e.services.map((s) => `${e.cluster}/${e.namespace}/${s}`)),
  );
  for (const split of topology.splits) {
    if (split.cluster !== facts.cluster) continue;
    const where = `split ${split.cluster}/${split.namespace}/${split.service}`;
    const chosen = splitApi(split, facts);
    if (!chosen) {
      findings.push({
        severity: "error",
        code: "XL621",
        cluster: facts.cluster,
        message: `${where}: ${split.api ? `API '${split.api}' is` : "no split API (Gateway API HTTPRoute, Linkerd HTTPRoute, SMI TrafficSplit) is"} not served in ${facts.cluster}`,
        hint: "install the CRDs, or choose another `api`",
      });
      continue;
    }
    const svc = facts.services.get(nsName(split.namespace, split.service));
    const port = (svc?.spec as { ports?: { port: number }[] } | undefined)?.ports?.[0]?.port;
    if (!svc) {
      findings.push({
        severity: "warning",
        code: "XL622",
        cluster: facts.cluster,
        message: `${where}: Service ${split.namespace}/${split.service} not found; the route has no parent to attach to yet`,
      });
    }
    const backends = split.backends.map((b) => ({
      name:
        b.cluster && b.cluster !== split.cluster
          ? mirrorName(b.service, b.cluster, federated.has(`${b.cluster}/${split.namespace}/${b.service}`))
          : b.service,
      weight: b.weight,
    }));
    objects.push(routeObject(topology.name, split, chosen, backends, port));
  }
  return { objects, findings };
}

function routeObject(
  topology: string,
  split: Split,
  chosen: { api: SplitApi; version: string },
  backends: { name: string; weight: number }[],
  port: number | undefined,
): KubeObject {
  const name = splitObjectName(split);
  const { group, kind } = SPLIT_KINDS[chosen.api];
  if (chosen.api === "smi") {
    return owned(topology, `${group}/${chosen.version}`, kind, name, split.namespace, {
      spec: { service: split.service, backends: backends.map((b) => ({ service: b.name, weight: b.weight })) },
    });
  }
  const withPort = <T extends object>(o: T) => (port ? { ...o, port } : o);
  return owned(topology, `${group}/${chosen.version}`, kind, name, split.namespace, {
    spec: {
      parentRefs: [withPort({ name: split.service, kind: "Service", group: "core" })],
      rules: [{ backendRefs: backends.map((b) => withPort({ name: b.name, weight: b.weight })) }],
    },
  });
}
