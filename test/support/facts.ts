/**
 * The unit tier's cluster: `clusterFacts` builds what observe would return for
 * a cluster from a few parameters (through observe's own parsers for
 * linkerd-config and the gateway Service), and `applyToFacts` plays the API
 * server for a plan: server-side apply of each object or partial (a manager's
 * fields it no longer sends are removed), deletes, and credentials issued
 * with a token of the requested lifetime. Render and plan then run again on
 * the result, so a second run can be checked to be a no-op without a server.
 */
import yaml from "js-yaml";
import { gatewayFacts, parseLinkerdConfig } from "../../src/engine/observe.js";
import type { ClusterFacts } from "../../src/engine/facts.js";
import { nsName } from "../../src/engine/facts.js";
import { isOwned } from "../../src/engine/names.js";
import type { ClusterPlan } from "../../src/engine/plan/actions.js";
import { issuedSecrets } from "../../src/engine/render/credentials.js";
import { SPLIT_APIS } from "../../src/extensions/split-apis.js";
import type { FieldPath } from "../../src/kube/field-path.js";
import { LINK_GROUP } from "../../src/kube/kinds.js";
import { managedLeafPaths } from "../../src/kube/managed-fields.js";
import { objectKey, refOf, type KubeObject } from "../../src/kube/object.js";

/** crosslink's field manager in unit tests (the CLI's is the same string). */
export const MANAGER = "crosslink";

/** Every discovered group served at every version crosslink knows (Link v1alpha3 first). */
export function allServed(): Record<string, string[]> {
  const served: Record<string, string[]> = { [LINK_GROUP]: ["v1alpha3", "v1alpha2", "v1alpha1"] };
  for (const a of SPLIT_APIS) served[a.group] = [...a.versions];
  return served;
}

/** A Service as a user would deploy it (port 80), optionally with labels. */
export function service(namespace: string, name: string, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, uid: `uid-${namespace}-${name}`, ...(labels ? { labels } : {}) },
    spec: { ports: [{ name: "http", port: 80 }] },
  };
}

/** What a cluster looks like, in as few words as a test needs. */
export interface FactsSpec {
  cluster: string;
  /** API server URL (default `https://<cluster>.test:6443`). */
  server?: string;
  caPem?: string;
  /** The anchors in linkerd-config and linkerd-identity-trust-roots; `false`: Linkerd is not installed. */
  linkerd?:
    | false
    | { anchorsPem: string; trustRootsPem?: string; trustDomain?: string; clusterDomain?: string; version?: string };
  issuerCertPem?: string;
  /** The linkerd-gateway Service: default one address, port 4143, identity and probe annotations; `false`: none. */
  gateway?: false | { addresses?: readonly string[]; identity?: boolean; probePath?: boolean; port?: boolean };
  /** Served versions by group (default: `allServed()`). */
  served?: Record<string, readonly string[]>;
  /** Services, as `namespace/name` or whole objects. */
  services?: (string | KubeObject)[];
  owned?: KubeObject[];
  mirrors?: KubeObject[];
  linkNames?: string[];
  /** Objects under crosslink's names made by someone else (Linkerd's CLI). */
  adoptable?: KubeObject[];
}

function linkerdConfigMap(cluster: string, l: Exclude<FactsSpec["linkerd"], false | undefined>): KubeObject {
  const values = {
    identityTrustAnchorsPEM: l.anchorsPem,
    identityTrustDomain: l.trustDomain ?? "cluster.local",
    clusterDomain: l.clusterDomain ?? "cluster.local",
    linkerdVersion: l.version ?? "stable-2.18.0",
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "linkerd-config", namespace: "linkerd", uid: `uid-${cluster}-linkerd-config` },
    data: { values: yaml.dump(values) },
  };
}

function gatewayService(cluster: string, g: Exclude<FactsSpec["gateway"], false | undefined>): KubeObject {
  const annotations: Record<string, string> = { "mirror.linkerd.io/probe-period": "3" };
  if (g.identity !== false)
    annotations["mirror.linkerd.io/gateway-identity"] =
      "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local";
  if (g.probePath !== false) annotations["mirror.linkerd.io/probe-path"] = "/ready";
  const ports = [{ name: "mc-probe", port: 4191 }, ...(g.port === false ? [] : [{ name: "mc-gateway", port: 4143 }])];
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "linkerd-gateway", namespace: "linkerd-multicluster", annotations },
    spec: { type: "LoadBalancer", ports },
    status: { loadBalancer: { ingress: (g.addresses ?? [`198.51.100.${cluster.length}`]).map((ip) => ({ ip })) } },
  };
}

/** The facts observe would return for a cluster described by `spec`. */
export function clusterFacts(spec: FactsSpec): ClusterFacts {
  const facts: ClusterFacts = {
    cluster: spec.cluster,
    server: spec.server ?? `https://${spec.cluster}.test:6443`,
    served: spec.served ?? allServed(),
    owned: spec.owned ?? [],
    services: new Map(),
    mirrors: spec.mirrors ?? [],
    linkNames: spec.linkNames ?? [],
    adoptable: spec.adoptable ?? [],
  };
  for (const s of spec.services ?? []) {
    const obj = typeof s === "string" ? service(s.split("/")[0]!, s.split("/")[1]!) : s;
    facts.services.set(nsName(obj.metadata.namespace ?? "", obj.metadata.name), obj);
  }
  if (spec.caPem) facts.caPem = spec.caPem;
  if (spec.linkerd !== false) {
    const l = spec.linkerd ?? { anchorsPem: "" };
    facts.linkerd = parseLinkerdConfig(linkerdConfigMap(spec.cluster, l))!;
    const pem = l.trustRootsPem ?? l.anchorsPem;
    const roots: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "linkerd-identity-trust-roots", namespace: "linkerd" },
      data: { "ca-bundle.crt": pem },
    };
    if (pem) facts.trustRoots = { pem, configMap: roots };
  }
  if (spec.issuerCertPem) facts.issuerCertPem = spec.issuerCertPem;
  if (spec.gateway !== false) facts.gateway = gatewayFacts(gatewayService(spec.cluster, spec.gateway ?? {}));
  return facts;
}

/** A JWT-shaped token that expires `ttlSeconds` after `now` (undefined: never, like a ServiceAccount token Secret). */
export function testToken(now: Date, ttlSeconds?: number, subject = "remote-access"): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const claims = {
    sub: subject,
    ...(ttlSeconds === undefined ? {} : { exp: Math.floor(now.getTime() / 1000) + ttlSeconds }),
  };
  return `${part({ alg: "RS256" })}.${part(claims)}.signature`;
}

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** FieldsV1 of what an applied object says (lists owned whole; metadata: labels and annotations only). */
function fieldsOf(value: Json, top = true): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (top && (k === "apiVersion" || k === "kind")) continue;
    if (top && k === "metadata") {
      const m = v as KubeObject["metadata"];
      const meta: Json = {};
      for (const part of ["labels", "annotations"] as const) {
        if (m[part]) meta[`f:${part}`] = Object.fromEntries(Object.keys(m[part]).map((l) => [`f:${l}`, {}]));
      }
      out["f:metadata"] = meta;
      continue;
    }
    out[`f:${k}`] = isMap(v) ? fieldsOf(v, false) : {};
  }
  return out;
}

function merge(into: Json, from: Json): Json {
  const out: Json = { ...into };
  for (const [k, v] of Object.entries(from)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k], v) : structuredClone(v);
  return out;
}

function removePath(obj: Json, path: FieldPath): void {
  let cur: unknown = obj;
  for (const seg of path.slice(0, -1)) cur = isMap(cur) ? cur[seg as string] : undefined;
  if (isMap(cur)) delete cur[path[path.length - 1] as string];
}

function hasPath(obj: unknown, path: FieldPath): boolean {
  let cur: unknown = obj;
  for (const seg of path) {
    if (!isMap(cur) || !(seg in cur)) return false;
    cur = cur[seg as string];
  }
  return true;
}

/** Server-side apply of `applied` by `manager` onto `live` (undefined: create). */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, manager = MANAGER): KubeObject {
  const before = live
    ? (structuredClone(live) as unknown as Json)
    : { metadata: { uid: `uid-${objectKey(refOf(applied))}` } };
  const result = merge(before, applied as unknown as Json) as unknown as KubeObject;
  if (live)
    for (const p of managedLeafPaths(live, manager)) if (!hasPath(applied, p)) removePath(result as unknown as Json, p);
  const others = (live?.metadata.managedFields ?? []).filter(
    (e) => e.manager !== manager || e.operation !== "Apply" || e.subresource,
  );
  result.metadata.managedFields = [
    ...others,
    {
      manager,
      operation: "Apply",
      apiVersion: applied.apiVersion,
      fieldsType: "FieldsV1",
      fieldsV1: fieldsOf(applied as unknown as Json),
    },
  ];
  return result;
}

/** The facts of a cluster after the API server carried out `plan` (what observe would read next). */
export function applyToFacts(
  facts: ClusterFacts,
  plan: ClusterPlan,
  opts: { topology: string; now: Date; manager?: string },
): ClusterFacts {
  const manager = opts.manager ?? MANAGER;
  const owned = new Map(facts.owned.map((o) => [objectKey(refOf(o)), o]));
  const services = new Map(facts.services);
  let mirrors = [...facts.mirrors];
  const next: ClusterFacts = { ...facts, services, owned: [] };
  const write = (obj: KubeObject) => {
    const key = objectKey(refOf(obj));
    if (obj.kind === "Service" && !isOwned(obj.metadata.labels, opts.topology)) {
      const id = nsName(obj.metadata.namespace ?? "", obj.metadata.name);
      services.set(id, serverSideApply(services.get(id), obj, manager));
    } else if (obj.kind === "ConfigMap" && facts.linkerd && obj.metadata.name === "linkerd-config") {
      next.linkerd = parseLinkerdConfig(serverSideApply(facts.linkerd.configMap, obj, manager))!;
    } else if (obj.kind === "ConfigMap" && obj.metadata.name === "linkerd-identity-trust-roots") {
      const cm = serverSideApply(facts.trustRoots?.configMap, obj, manager);
      next.trustRoots = { pem: (cm.data as Record<string, string>)["ca-bundle.crt"] ?? "", configMap: cm };
    } else {
      owned.set(key, serverSideApply(owned.get(key), obj, manager));
    }
  };
  for (const a of plan.actions) {
    switch (a.type) {
      case "create":
      case "update":
        write(a.object);
        break;
      case "replace":
        owned.delete(objectKey(a.ref));
        write(a.object);
        break;
      case "delete":
        owned.delete(objectKey(a.ref));
        mirrors = mirrors.filter((m) => objectKey(refOf(m)) !== objectKey(a.ref));
        break;
      case "credentials": {
        const ttl = a.issue.mode === "token-request" ? a.issue.ttlSeconds : undefined;
        for (const s of issuedSecrets(a.issue, testToken(opts.now, ttl))) write(s);
        break;
      }
    }
  }
  next.owned = [...owned.values()];
  next.mirrors = mirrors;
  next.linkNames = [
    ...new Set([
      ...facts.linkNames.filter(
        (n) => !plan.actions.some((a) => a.type === "delete" && a.ref.kind === "Link" && a.ref.name === n),
      ),
      ...next.owned.filter((o) => o.kind === "Link").map((o) => o.metadata.name),
    ]),
  ];
  return next;
}
