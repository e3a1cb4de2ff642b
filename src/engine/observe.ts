/**
 * observe (I/O): for each cluster in parallel (bounded), read the facts render
 * needs and the live objects crosslink owns. One LIST per managed kind by
 * owner label, except Services: one LIST of them all, from which the owned,
 * export-labelled, mirrored and gateway ones and those in the namespaces the
 * topology names are kept. An unreachable cluster becomes a per-cluster
 * error, never a crash.
 */
import yaml from "js-yaml";
import { KubeError } from "../kube/errors.js";
import type { ClusterClient } from "../kube/port.js";
import type { KubeObject } from "../kube/object.js";
import { DISCOVERED_GROUPS, LINK_GROUP, MANAGED_KINDS, type KindInfo } from "../kube/kinds.js";
import { EXPORT_LABELS } from "../extensions/export-modes.js";
import type { Cluster, Topology } from "../topology/types.js";
import { errorMessage, mapLimit } from "../util/concurrency.js";
import type { ClusterFacts, ClusterObservation, GatewayFacts, LinkerdConfigFacts, ServedApis } from "./facts.js";
import { nsName } from "./facts.js";
import { kindKey, kindsToList, mustList, readKindsRecord, renderableKinds } from "./kinds-record.js";
import {
  CONTROLLER_SHARED_CLUSTER_ROLE,
  MIRRORED_SERVICE_LABEL,
  isOwned,
  linkNames as linkNamesOf,
  ownerSelector,
} from "./names.js";

/** The Secret type of link credentials (`link-gen`'s and crosslink's). */
export const CREDENTIALS_SECRET_TYPE = "mirror.linkerd.io/remote-kubeconfig";

/** How many clusters are observed at once. */
export const OBSERVE_CONCURRENCY = 8;

/** Hooks of observeAll. */
export interface ObserveOptions {
  /** Wraps a cluster's client for its observation (a deadline, an abort signal); `done` is called when it ends. */
  scope?: (cluster: string, client: ClusterClient) => { client: ClusterClient; done(): void };
  /** Called when a cluster's observation starts and ends. */
  onProgress?: (cluster: string, state: "start" | "done") => void;
  /** Called with each cluster's observation as soon as it ends, before the others have. */
  onObserved?: (observation: ClusterObservation) => void;
}

/** Observes every cluster of the topology that has a client. */
export async function observeAll(
  topology: Topology,
  clients: ReadonlyMap<string, ClusterClient>,
  opts: ObserveOptions = {},
): Promise<ClusterObservation[]> {
  return mapLimit(topology.clusters, OBSERVE_CONCURRENCY, async (cluster) => {
    const observation = await observeOne(topology, cluster, clients.get(cluster.name), opts);
    opts.onObserved?.(observation);
    return observation;
  });
}

async function observeOne(
  topology: Topology,
  cluster: Cluster,
  client: ClusterClient | undefined,
  opts: ObserveOptions,
): Promise<ClusterObservation> {
  if (!client)
    return { cluster: cluster.name, ok: false as const, error: `no kubeconfig context '${cluster.context}'` };
  const scoped = opts.scope?.(cluster.name, client) ?? { client, done: () => {} };
  opts.onProgress?.(cluster.name, "start");
  try {
    return {
      cluster: cluster.name,
      ok: true as const,
      facts: await observeCluster(topology, cluster, scoped.client),
    };
  } catch (err) {
    return { cluster: cluster.name, ok: false as const, error: errorMessage(err) };
  } finally {
    scoped.done();
    opts.onProgress?.(cluster.name, "done");
  }
}

/**
 * Reads one cluster in at most one request per kind, plus one discovery
 * request (reused by the client, and from disk by the CLI), the issuer Secret
 * by name, and one LIST of the Linkerd namespace's ConfigMaps for
 * linkerd-config and the trust roots (two GETs where RBAC names only those).
 * Services are one LIST of the whole cluster, from which the owned, exported,
 * mirrored, gateway and per-namespace ones are picked. In the source cluster
 * of a managed link, ClusterRoles are one LIST of them all, which answers both
 * the owned ones and the chart's shared controller role. Only when the owned
 * LISTs do not answer it, a second round LISTs link-credential Secrets by type
 * where an outgoing link's credentials are not crosslink's yet (for adoption;
 * at first contact only beside a Link under crosslink's name, which is what
 * `crosslink import` adopts).
 * Throws when the cluster cannot be read; observeAll turns that into a
 * per-cluster error.
 */
export async function observeCluster(
  topology: Topology,
  cluster: Cluster,
  client: ClusterClient,
): Promise<ClusterFacts> {
  const groups = await client.discovery();
  const served: ServedApis = Object.fromEntries(DISCOVERED_GROUPS.map((g) => [g, groups[g] ?? []]));
  const linkVersions = served[LINK_GROUP] ?? [];
  const selector = ownerSelector(topology.name);
  const apiVersionOf = (k: KindInfo) => {
    const version = k.version ?? servedVersionOf(k.group, served);
    return k.group ? `${k.group}/${version}` : version!;
  };
  const listOwned = (k: KindInfo) => client.list(apiVersionOf(k), k.kind, { labelSelector: selector });
  // Links are listed whole (the orphan-mirror rule needs every Link's name); the owned ones are picked from that list.
  // Services are listed whole below.
  const listable = MANAGED_KINDS.filter(
    (k) => k.kind !== "Link" && k.kind !== "Service" && (k.version || servedVersionOf(k.group, served)),
  );
  const secretKind = listable.find((k) => k.group === "" && k.kind === "Secret")!;

  const needsSharedRole = topology.links.some((l) => l.from === cluster.name && l.controller === "managed");
  const outgoing = topology.links.filter((l) => l.from === cluster.name);
  const clusterRoleKind = listable.find((k) => k.kind === "ClusterRole")!;
  // First round: what is always read, and the owned kinds the topology can render here whatever the shared role is.
  // Where the chart's shared controller ClusterRole matters (a managed link's source), ClusterRoles are listed whole
  // instead: one LIST answers both the owned ClusterRoles and the shared role, which carries no owner labels.
  const early = renderableKinds(topology, cluster, served, false);
  const firstKinds = listable.filter(
    (k) => k !== secretKind && !(k === clusterRoleKind && needsSharedRole) && early.has(kindKey(k.group, k.kind)),
  );
  const [linkerdMaps, issuer, allClusterRoles, ownedSecrets, firstLists, allServices, links] = await Promise.all([
    readLinkerdConfigMaps(client, cluster.linkerdNamespace),
    client.get({
      apiVersion: "v1",
      kind: "Secret",
      namespace: cluster.linkerdNamespace,
      name: "linkerd-identity-issuer",
    }),
    needsSharedRole ? client.list(apiVersionOf(clusterRoleKind), "ClusterRole") : Promise.resolve(undefined),
    listOwned(secretKind),
    Promise.all(firstKinds.map(listOwned)),
    client.list("v1", "Service"),
    linkVersions.length ? client.list(`${LINK_GROUP}/${linkVersions[0]}`, "Link") : Promise.resolve([]),
  ]);
  const { config, roots } = linkerdMaps;
  const sharedRole = allClusterRoles?.find((r) => r.metadata.name === CONTROLLER_SHARED_CLUSTER_ROLE);
  const ownedClusterRoles = allClusterRoles?.filter((r) => isOwned(r.metadata.labels, topology.name));
  const picked = pickServices(topology, cluster, allServices);
  const ownedLinks = links.filter((l) => isOwned(l.metadata.labels, topology.name));
  // Second round: the other kinds the record lists (every kind when there is no record but something of crosslink's
  // is here) or the topology can render here, and, for adoption, credential Secrets (by type) in the namespaces where
  // an outgoing link's credentials are not crosslink's yet (at first contact: only beside an unowned Link to adopt).
  const record = readKindsRecord(topology.name, cluster, ownedSecrets);
  const ownsSomething = [ownedSecrets, ...firstLists, ownedClusterRoles ?? [], picked.owned, ownedLinks].some(
    (found) => found.length > 0,
  );
  const recorded = kindsToList(record, ownsSomething);
  const firstContact = !record.recorded && !ownsSomething;
  const sharedRoleMine = needsSharedRole && (!sharedRole || isOwned(sharedRole.metadata.labels, topology.name));
  const renderable = renderableKinds(topology, cluster, served, sharedRoleMine);
  const laterKinds = listable.filter(
    (k) =>
      k !== secretKind &&
      !firstKinds.includes(k) &&
      !(k === clusterRoleKind && ownedClusterRoles) &&
      mustList(k, recorded, renderable),
  );
  const adoptionLinks = firstContact ? linksUnderOwnName(cluster, outgoing, links) : outgoing;
  const [laterLists, credentials] = await Promise.all([
    Promise.all(laterKinds.map(listOwned)),
    readCredentialSecrets(client, credentialNamespacesToRead(cluster, adoptionLinks, ownedSecrets)),
  ]);
  // The record is plan's bookkeeping, not an object of the topology: never compared, never pruned.
  const ownedObjects = [
    ...ownedSecrets.filter((o) => o !== record.object),
    ...firstLists.flat(),
    ...(ownedClusterRoles ?? []),
    ...laterLists.flat(),
  ];

  const facts: ClusterFacts = {
    cluster: cluster.name,
    server: client.server,
    served,
    owned: [...ownedObjects, ...picked.owned, ...ownedLinks],
    services: picked.services,
    mirrors: picked.mirrors,
    linkNames: links.map((l) => l.metadata.name),
    adoptable: adoptableObjects(topology.name, cluster, outgoing, links, credentials),
    kindsRecord: record,
  };
  if (client.caPem) facts.caPem = client.caPem;
  const clockOffsetMs = client.clockOffsetMs?.();
  if (clockOffsetMs !== undefined) facts.clockOffsetMs = clockOffsetMs;
  const linkerd = config && parseLinkerdConfig(config);
  if (linkerd) facts.linkerd = linkerd;
  const rootsPem = (roots?.data as Record<string, string> | undefined)?.["ca-bundle.crt"];
  if (roots && rootsPem) facts.trustRoots = { pem: rootsPem, configMap: roots };
  const issuerPem = issuer && issuerCertificate(issuer);
  if (issuerPem) facts.issuerCertPem = issuerPem;
  if (picked.gateway) facts.gateway = gatewayFacts(picked.gateway);
  if (sharedRole) facts.controllerSharedRole = sharedRole;
  return facts;
}

/**
 * linkerd-config and the trust roots: one LIST of the Linkerd namespace's ConfigMaps, or, where RBAC grants only
 * these two names (a LIST answers 403), a GET of each; the client remembers the refusal (`rememberForbidden`), so
 * it does not send that LIST again while it lives.
 */
export async function readLinkerdConfigMaps(
  client: ClusterClient,
  namespace: string,
): Promise<{ config: KubeObject | undefined; roots: KubeObject | undefined }> {
  try {
    const all = await client.list("v1", "ConfigMap", { namespace, rememberForbidden: true });
    const named = (name: string) => all.find((o) => o.metadata.name === name);
    return { config: named("linkerd-config"), roots: named("linkerd-identity-trust-roots") };
  } catch (err) {
    if (!(err instanceof KubeError && err.code === "KUBE_FORBIDDEN")) throw err;
  }
  const byName = (name: string) => client.get({ apiVersion: "v1", kind: "ConfigMap", namespace, name });
  const [config, roots] = await Promise.all([byName("linkerd-config"), byName("linkerd-identity-trust-roots")]);
  return { config, roots };
}

/**
 * Link-credential Secrets (by type) in `namespaces`: one LIST in the one namespace, or one LIST of the
 * whole cluster, kept to those namespaces, when there are more.
 */
async function readCredentialSecrets(client: ClusterClient, namespaces: readonly string[]): Promise<KubeObject[]> {
  const fieldSelector = `type=${CREDENTIALS_SECRET_TYPE}`;
  if (!namespaces.length) return [];
  if (namespaces.length === 1) return client.list("v1", "Secret", { namespace: namespaces[0]!, fieldSelector });
  const all = await client.list("v1", "Secret", { fieldSelector });
  return all.filter((o) => namespaces.includes(o.metadata.namespace ?? ""));
}

/** The Services observe keeps, picked from a LIST of every Service in a cluster. */
export interface PickedServices {
  /** Those the topology owns. */
  owned: KubeObject[];
  /** By `namespace/name`: those in namespaces the topology exports or splits in, plus every export-labelled one. */
  services: Map<string, KubeObject>;
  /** Those the service mirror created. */
  mirrors: KubeObject[];
  /** The multicluster gateway Service. */
  gateway?: KubeObject;
}

/** Picks from every Service of a cluster the ones render and plan need (pure). */
export function pickServices(topology: Topology, cluster: Cluster, all: readonly KubeObject[]): PickedServices {
  const namespaces = new Set<string>();
  for (const e of topology.exports) if (e.cluster === cluster.name) namespaces.add(e.namespace);
  for (const s of topology.splits) if (s.cluster === cluster.name) namespaces.add(s.namespace);
  const out: PickedServices = { owned: [], services: new Map(), mirrors: [] };
  for (const svc of all) {
    const ns = svc.metadata.namespace ?? "";
    const labels = svc.metadata.labels ?? {};
    if (isOwned(labels, topology.name)) out.owned.push(svc);
    if (labels[MIRRORED_SERVICE_LABEL] === "true") out.mirrors.push(svc);
    if (namespaces.has(ns) || EXPORT_LABELS.some((l) => l in labels))
      out.services.set(nsName(ns, svc.metadata.name), svc);
    if (ns === cluster.multiclusterNamespace && svc.metadata.name === "linkerd-gateway") out.gateway = svc;
  }
  return out;
}

/**
 * The Links and credential Secrets of `outgoing` links that exist under crosslink's names
 * (which are `link-gen`'s) without crosslink's owner labels: what plan adopts.
 */
export function adoptableObjects(
  topology: string,
  cluster: Cluster,
  outgoing: readonly { from: string; to: string }[],
  links: readonly KubeObject[],
  secrets: readonly KubeObject[],
): KubeObject[] {
  const out: KubeObject[] = [];
  for (const l of outgoing) {
    const n = linkNamesOf(l.from, l.to);
    const link = links.find(
      (o) => o.metadata.name === n.link && o.metadata.namespace === cluster.multiclusterNamespace,
    );
    if (link && !isOwned(link.metadata.labels, topology)) out.push(link);
    for (const ns of [cluster.multiclusterNamespace, cluster.linkerdNamespace]) {
      const s = secrets.find((o) => o.metadata.name === n.credentials && o.metadata.namespace === ns);
      if (s && !isOwned(s.metadata.labels, topology)) out.push(s);
    }
  }
  return out;
}

/** The outgoing links whose Link exists under crosslink's name (`link-gen`'s) in the multicluster namespace (pure). */
export function linksUnderOwnName<L extends { from: string; to: string }>(
  cluster: Cluster,
  outgoing: readonly L[],
  links: readonly KubeObject[],
): L[] {
  const names = new Set(
    links.filter((o) => o.metadata.namespace === cluster.multiclusterNamespace).map((o) => o.metadata.name),
  );
  return outgoing.filter((l) => names.has(linkNamesOf(l.from, l.to).link));
}

/**
 * The namespaces (multicluster, Linkerd) where some outgoing link's credential Secret is not among the
 * owned objects: only there can an unowned one wait for adoption, so only there are credentials listed (pure).
 */
export function credentialNamespacesToRead(
  cluster: Cluster,
  outgoing: readonly { from: string; to: string }[],
  owned: readonly KubeObject[],
): string[] {
  const ownedSecrets = new Set(
    owned.filter((o) => o.kind === "Secret").map((o) => nsName(o.metadata.namespace ?? "", o.metadata.name)),
  );
  const out = new Set<string>();
  for (const l of outgoing) {
    const name = linkNamesOf(l.from, l.to).credentials;
    for (const ns of [cluster.multiclusterNamespace, cluster.linkerdNamespace])
      if (!ownedSecrets.has(nsName(ns, name))) out.add(ns);
  }
  return [...out];
}

/** The newest served version of a group crosslink writes, by the served-API facts. */
export function servedVersionOf(group: string, served: ServedApis): string | undefined {
  return served[group]?.[0];
}

/** Parses `linkerd-config`'s `values` (YAML) into the facts render needs; undefined when unreadable. */
export function parseLinkerdConfig(cm: KubeObject): LinkerdConfigFacts | undefined {
  const text = (cm.data as Record<string, string> | undefined)?.values;
  if (!text) return undefined;
  let values: Record<string, unknown>;
  try {
    values = (yaml.load(text) ?? {}) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const global = (values.global ?? {}) as Record<string, unknown>; // Linkerd 2.9 kept these under `global`
  const pick = (k: string) => (values[k] ?? global[k]) as string | undefined;
  const facts: LinkerdConfigFacts = {
    trustDomain: pick("identityTrustDomain") ?? "cluster.local",
    clusterDomain: pick("clusterDomain") ?? "cluster.local",
    anchorsPem: pick("identityTrustAnchorsPEM") ?? "",
    issuerScheme: issuerSchemeOf(values.identity),
    configMap: cm,
  };
  const version = pick("linkerdVersion");
  if (version) facts.version = version;
  const image = pick("controllerImage");
  if (typeof image === "string" && image) facts.controllerImage = image;
  const imageVersion = pick("controllerImageVersion");
  if (typeof imageVersion === "string" && imageVersion) facts.controllerImageVersion = imageVersion;
  return facts;
}

function issuerSchemeOf(identity: unknown): LinkerdConfigFacts["issuerScheme"] {
  const scheme = ((identity ?? {}) as { issuer?: { scheme?: unknown } }).issuer?.scheme;
  return scheme === "kubernetes.io/tls" ? "kubernetes.io/tls" : "linkerd.io/tls";
}

function issuerCertificate(secret: KubeObject): string | undefined {
  const data = (secret.data ?? {}) as Record<string, string>;
  const b64 = data["crt.pem"] ?? data["tls.crt"];
  return b64 ? Buffer.from(b64, "base64").toString("utf8") : undefined;
}

/** Reads the gateway Service the way `link-gen` does. */
export function gatewayFacts(svc: KubeObject): GatewayFacts {
  const spec = (svc.spec ?? {}) as { type?: string; ports?: { name?: string; port: number; nodePort?: number }[] };
  const status = (svc.status ?? {}) as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
  const ann = svc.metadata.annotations ?? {};
  const portOf = (name: string) => {
    const p = spec.ports?.find((x) => x.name === name);
    return p ? (spec.type === "NodePort" && p.nodePort ? p.nodePort : p.port) : undefined;
  };
  const facts: GatewayFacts = {
    addresses: (status.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || "").filter(Boolean),
  };
  const port = portOf("mc-gateway");
  const probePort = portOf("mc-probe");
  if (port) facts.port = port;
  if (probePort) facts.probePort = probePort;
  if (ann["mirror.linkerd.io/gateway-identity"]) facts.identity = ann["mirror.linkerd.io/gateway-identity"];
  if (ann["mirror.linkerd.io/probe-path"]) facts.probePath = ann["mirror.linkerd.io/probe-path"];
  const period = ann["mirror.linkerd.io/probe-period"];
  if (period) facts.probePeriod = /^\d+$/.test(period) ? `${period}s` : period;
  return facts;
}
