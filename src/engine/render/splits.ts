/**
 * Splits: a weighted route for one Service, as an HTTPRoute (Gateway API v1 or
 * policy.linkerd.io v1beta3) with the Service as parentRef, or an SMI
 * TrafficSplit, by the split's `api` or what the cluster serves. Remote
 * backends resolve to their mirror names.
 */
import type { KubeObject } from "../../kube/object.js";
import { exportModeInfo } from "../../extensions/export-modes.js";
import { SPLIT_APIS, splitApiInfo, type SplitApi } from "../../extensions/split-apis.js";
import type { Split, Topology } from "../../topology/types.js";
import type { ClusterFacts } from "../facts.js";
import { nsName } from "../facts.js";
import { mirrorName, SPLIT_SUFFIX, splitName } from "../names.js";
import { owned } from "./meta.js";
import type { Finding } from "./desired.js";

/** The name of the object a split renders to. */
export function splitObjectName(split: Pick<Split, "service">): string {
  return splitName(split.service);
}

/** The Service a split object's name was derived from (undefined: not a split's name). */
export function splitServiceOf(objectName: string): string | undefined {
  return objectName.endsWith(SPLIT_SUFFIX) && objectName.length > SPLIT_SUFFIX.length
    ? objectName.slice(0, -SPLIT_SUFFIX.length)
    : undefined;
}

/** The split API that writes objects of this group and kind (undefined: not a split object). */
export function splitApiOfGroup(group: string, kind: string): SplitApi | undefined {
  return SPLIT_APIS.find((a) => a.group === group && a.kind === kind)?.api;
}

/** Which API a split uses in a cluster: its own `api`, else the first served in SPLIT_APIS' order of preference. */
export function splitApi(split: Split, facts: ClusterFacts): { api: SplitApi; version: string } | undefined {
  for (const row of SPLIT_APIS) {
    if (split.api && split.api !== row.api) continue;
    const served = facts.served[row.group];
    if (!served?.length) continue;
    return { api: row.api, version: row.versions.find((v) => served.includes(v)) ?? served[0]! };
  }
  return undefined;
}

/** Renders every split of one cluster. */
export function renderSplits(topology: Topology, facts: ClusterFacts): { objects: KubeObject[]; findings: Finding[] } {
  const objects: KubeObject[] = [];
  const findings: Finding[] = [];
  const federated = new Set(
    topology.exports
      .filter((e) => exportModeInfo(e.mode).federated)
      .flatMap((e) => e.services.map((s) => `${e.cluster}/${e.namespace}/${s}`)),
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
        message: `${where}: ${split.api ? `API '${split.api}' is` : `no split API (${SPLIT_APIS.map((a) => a.title).join(", ")}) is`} not served in ${facts.cluster}`,
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
    const row = splitApiInfo(chosen.api);
    const body = RENDER_ROUTE[chosen.api](split, backends, port);
    objects.push(
      owned(topology.name, `${row.group}/${chosen.version}`, row.kind, splitObjectName(split), split.namespace, body),
    );
  }
  return { objects, findings };
}

/** One weighted backend, resolved to the Service name in the split's cluster. */
interface RouteBackend {
  name: string;
  weight: number;
}

/** Renders the body (`spec`) of a split's route object; its apiVersion, kind, name and namespace come from the table. */
type RouteRenderer = (split: Split, backends: RouteBackend[], port: number | undefined) => Record<string, unknown>;

/** An HTTPRoute with the Service as parentRef (Gateway API and Linkerd's policy API share the shape). */
const httpRoute: RouteRenderer = (split, backends, port) => {
  const withPort = <T extends object>(o: T) => (port ? { ...o, port } : o);
  return {
    spec: {
      parentRefs: [withPort({ name: split.service, kind: "Service", group: "core" })],
      rules: [{ backendRefs: backends.map((b) => withPort({ name: b.name, weight: b.weight })) }],
    },
  };
};

/** The render function of each split API (one per row of SPLIT_APIS; the compiler asks for a new row's). */
const RENDER_ROUTE: { [A in SplitApi]: RouteRenderer } = {
  gateway: httpRoute,
  linkerd: httpRoute,
  smi: (split, backends) => ({
    spec: { service: split.service, backends: backends.map((b) => ({ service: b.name, weight: b.weight })) },
  }),
};
