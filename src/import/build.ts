/**
 * import's pure core: the live objects of a set of clusters → a topology
 * document. Every guess is written down as a note attached to the part of the
 * document it concerns (document.ts turns notes into YAML comments). Links
 * keep the names Linkerd gave them: a cluster is named what the Links into it
 * call it, so applying the result adopts those objects instead of renaming them.
 */
import { CrosslinkError, type CrosslinkErrorOptions } from "../errors.js";
import type { KubeObject } from "../kube/object.js";
import { EXPORTED_LABEL, FEDERATED_LABEL, type ExportMode } from "../extensions/export-modes.js";
import { SPLIT_APIS, type SplitApi } from "../extensions/split-apis.js";
import { summariseKubeconfig } from "../engine/render/credentials.js";
import {
  CLUSTER_NAME_LABEL,
  DEFAULT_CONTROLLER_IMAGE,
  MANAGED_BY,
  TOPOLOGY_LABEL,
  linkNames,
  splitName,
} from "../engine/names.js";
import { bundleFingerprints, splitPemBundle } from "../pki/pem.js";
import { formatDuration } from "../topology/duration.js";
import type { LiveCluster } from "./live.js";

/** A path into the topology document (keys and list indices). */
export type DocPath = (string | number)[];

/** A guess or a thing left out, attached to a place in the document. */
export interface ImportNote {
  /** Where the comment goes; `[]`: the document's header. */
  path: DocPath;
  text: string;
}

/** A trust anchor file to write beside the topology. */
export interface AnchorFile {
  /** Path relative to the topology file (as `file:` says). */
  file: string;
  pem: string;
}

/** The outcome of an import: the document (plain data), its notes and anchor files, and what was found. */
export interface ImportResult {
  document: Record<string, unknown>;
  notes: ImportNote[];
  anchors: AnchorFile[];
  counts: { clusters: number; links: number; linksLeftOut: number; exports: number; splits: number; anchors: number };
}

/** Options of the import. */
export interface BuildOptions {
  /** Topology name when the clusters do not carry crosslink's topology label; default `imported`. */
  name?: string;
  /** Directory of the anchor files, relative to the topology file; default `anchors`. */
  anchorDir?: string;
}

/** Codes of ImportError. */
export type ImportErrorCode = "IMPORT_NO_TRUST_ROOTS" | "IMPORT_NO_CLUSTERS";

/** import could not make a topology (no cluster given, no trust roots anywhere). */
export class ImportError extends CrosslinkError<ImportErrorCode> {
  constructor(code: ImportErrorCode, message: string, options: CrosslinkErrorOptions = {}) {
    super(code, message, options);
    this.name = "ImportError";
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DEFAULT_TTL_SECONDS = 24 * 3600;

/** One Link found in a source cluster, with what it resolves to. */
interface FoundLink {
  source: LiveCluster;
  link: KubeObject;
  /** `spec.targetClusterName` (or the Link's name). */
  targetName: string;
  credentials?: KubeObject;
  kubeconfig: ReturnType<typeof summariseKubeconfig>;
  target?: LiveCluster;
  /** How the target was found, when it was a guess. */
  guessedBy?: string;
}

/** Converts the live clusters into a topology document. */
export function buildTopology(live: readonly LiveCluster[], opts: BuildOptions = {}): ImportResult {
  if (!live.length) throw new ImportError("IMPORT_NO_CLUSTERS", "no cluster to import (give --context at least once)");
  const notes: ImportNote[] = [];
  const found = live.flatMap((c) => c.links.map((l) => resolveLink(c, l, live)));
  const names = clusterNames(live, found, notes);
  const nameOf = (c: LiveCluster) => names.get(c.context)!;

  const clusters = live.map((c, i) => clusterEntry(c, i, nameOf(c), found, notes));
  const anchors = trustAnchors(live, nameOf, opts.anchorDir ?? "anchors", notes);

  const links: Record<string, unknown>[] = [];
  let linksLeftOut = 0;
  const seen = new Set<string>();
  for (const f of found) {
    const from = nameOf(f.source);
    if (!f.target) {
      linksLeftOut++;
      notes.push({
        path: [],
        text:
          `Link ${f.link.metadata.namespace}/${f.link.metadata.name} in ${from} was not imported: its target ` +
          `'${f.targetName}' (API server ${f.kubeconfig.server ?? "unknown"}, gateway ${spec(f.link).gatewayAddress ?? "none"}) ` +
          `is not among the given contexts. crosslink leaves that Link and its mirrors alone; add the target's context to import it.`,
      });
      continue;
    }
    const to = nameOf(f.target);
    if (seen.has(`${from}/${to}`)) {
      linksLeftOut++;
      notes.push({
        path: [],
        text: `Link ${f.link.metadata.namespace}/${f.link.metadata.name} in ${from} is a second link to ${to}; only the first was imported.`,
      });
      continue;
    }
    seen.add(`${from}/${to}`);
    const index = links.length;
    links.push(linkEntry(f, from, to, index, notes));
  }

  const exports = exportEntries(live, nameOf, notes);
  const splits = splitEntries(live, found, nameOf, exports, notes);

  const topologyName = ownerTopology(live) ?? opts.name ?? "imported";
  const specDoc: Record<string, unknown> = { trustAnchors: anchors.entries, clusters };
  if (links.length) specDoc.links = links;
  if (exports.length) specDoc.exports = exports.map((e) => e.entry);
  if (splits.length) specDoc.splits = splits;
  return {
    document: {
      apiVersion: "crosslink.dev/v1alpha1",
      kind: "Topology",
      metadata: { name: topologyName },
      spec: specDoc,
    },
    notes,
    anchors: anchors.files,
    counts: {
      clusters: clusters.length,
      links: links.length,
      linksLeftOut,
      exports: exports.reduce((n, e) => n + e.services.length, 0),
      splits: splits.length,
      anchors: anchors.files.length,
    },
  };
}

function spec(o: KubeObject): Record<string, string | undefined> & Record<string, unknown> {
  return (o.spec ?? {}) as Record<string, string | undefined>;
}

function stripSlash(url: string | undefined): string | undefined {
  return url?.replace(/\/+$/, "");
}

/** Finds a Link's credentials and target context: by API server (certain), else gateway address or name (guesses). */
function resolveLink(source: LiveCluster, link: KubeObject, live: readonly LiveCluster[]): FoundLink {
  const s = spec(link);
  const targetName = String(s.targetClusterName ?? link.metadata.name);
  const secretName = String(s.clusterCredentialsSecret ?? `cluster-credentials-${targetName}`);
  const credentials = source.credentials.find(
    (o) => o.metadata.name === secretName && o.metadata.namespace === link.metadata.namespace,
  );
  const text = credentials
    ? Buffer.from(
        String((credentials.data as Record<string, string> | undefined)?.kubeconfig ?? ""),
        "base64",
      ).toString("utf8")
    : "";
  const kubeconfig = summariseKubeconfig(text);
  const out: FoundLink = { source, link, targetName, kubeconfig };
  if (credentials) out.credentials = credentials;
  const others = live.filter((c) => c !== source);
  const byServer = others.find((c) => kubeconfig.server && stripSlash(c.server) === stripSlash(kubeconfig.server));
  if (byServer) return { ...out, target: byServer };
  const addresses = String(s.gatewayAddress ?? "")
    .split(",")
    .filter(Boolean);
  const byGateway = others.find((c) => c.gateway?.addresses.some((a) => addresses.includes(a)));
  if (byGateway)
    return {
      ...out,
      target: byGateway,
      guessedBy: `its gateway address ${addresses.join(",")} is ${byGateway.context}'s linkerd-gateway`,
    };
  const byName = others.find((c) => c.context === targetName);
  if (byName) return { ...out, target: byName, guessedBy: `a context is named '${targetName}'` };
  return out;
}

/**
 * Topology names of the contexts: what the Links into a context call it
 * (so Links, Secrets and mirrors keep their names), else the context's name.
 */
function clusterNames(
  live: readonly LiveCluster[],
  found: readonly FoundLink[],
  notes: ImportNote[],
): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  live.forEach((c, i) => {
    const called = [...new Set(found.filter((f) => f.target === c).map((f) => f.targetName))];
    let name = called.length === 1 && DNS_LABEL.test(called[0]!) ? called[0]! : sanitise(c.context);
    if (taken.has(name)) name = sanitise(`${name}-${i + 1}`);
    taken.add(name);
    names.set(c.context, name);
    if (called.length > 1)
      notes.push({
        path: ["spec", "clusters", i],
        text: `Links call this cluster ${called.map((n) => `'${n}'`).join(" and ")}; crosslink names every Link to it '${name}', so the others are recreated under that name and their mirrors renamed.`,
      });
    else if (name !== c.context && !called.length)
      notes.push({
        path: ["spec", "clusters", i],
        text: `context '${c.context}' is not a DNS label; the cluster is named '${name}'.`,
      });
  });
  return names;
}

function sanitise(context: string): string {
  const s = context
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return s || "cluster";
}

/** One `spec.clusters` entry: name, context and what differs from the defaults. */
function clusterEntry(
  c: LiveCluster,
  index: number,
  name: string,
  found: readonly FoundLink[],
  notes: ImportNote[],
): Record<string, unknown> {
  const entry: Record<string, unknown> = { name };
  if (c.context !== name) entry.context = c.context;
  const into = found.filter((f) => f.target === c);
  // The address other clusters' credentials use, when it is not the context's (an internal name, a proxy).
  const servers = [...new Set(into.map((f) => stripSlash(f.kubeconfig.server)).filter((s): s is string => !!s))];
  const apiServer = servers.find((s) => s !== stripSlash(c.server));
  if (apiServer && servers.length === 1) {
    entry.apiServer = apiServer;
    notes.push({
      path: ["spec", "clusters", index, "apiServer"],
      text: `the Links into ${name} reach it at ${apiServer}, not at the context's ${c.server}; matched by ${into.map((f) => f.guessedBy ?? "server").join("; ")}`,
    });
  }
  const gw = c.gateway;
  const linkAddresses = [...new Set(into.map((f) => String(spec(f.link).gatewayAddress ?? "")).filter(Boolean))];
  const linkPorts = [...new Set(into.map((f) => Number(spec(f.link).gatewayPort)).filter((p) => p > 0))];
  const gateway: Record<string, unknown> = {};
  if (linkAddresses.length === 1 && linkAddresses[0] !== (gw?.addresses ?? []).join(",")) {
    gateway.addresses = linkAddresses[0]!.split(",");
  } else if (linkAddresses.length > 1) {
    notes.push({
      path: ["spec", "clusters", index],
      text: `Links reach ${name}'s gateway at different addresses (${linkAddresses.join("; ")}); crosslink will write ${gw?.addresses.join(",") || "its gateway Service's address"} into all of them.`,
    });
  }
  if (linkPorts.length === 1 && linkPorts[0] !== gw?.port) gateway.port = linkPorts[0];
  if (Object.keys(gateway).length) {
    entry.gateway = gateway;
    notes.push({
      path: ["spec", "clusters", index, "gateway"],
      text: `the Links into ${name} use this gateway address, which its linkerd-gateway Service does not report (${gw ? `${gw.addresses.join(",") || "no address"}:${gw.port ?? "?"}` : "no linkerd-gateway Service"}); kept so the Links do not change`,
    });
  }
  const domain = c.linkerd?.clusterDomain;
  if (domain && domain !== "cluster.local") entry.clusterDomain = domain;
  const mcNamespaces = [...new Set(c.links.map((l) => l.metadata.namespace).filter((n): n is string => !!n))];
  if (mcNamespaces.length === 1 && mcNamespaces[0] !== "linkerd-multicluster")
    entry.multiclusterNamespace = mcNamespaces[0];
  const linkerdNs = [...new Set(into.map((f) => String(spec(f.link).targetClusterLinkerdNamespace ?? "linkerd")))];
  if (linkerdNs.length === 1 && linkerdNs[0] !== "linkerd") entry.linkerdNamespace = linkerdNs[0];
  return entry;
}

/** The trust anchors: every distinct certificate of the clusters' trust-root bundles, one file each. */
function trustAnchors(
  live: readonly LiveCluster[],
  nameOf: (c: LiveCluster) => string,
  dir: string,
  notes: ImportNote[],
): { entries: Record<string, unknown>[]; files: AnchorFile[] } {
  const certs = new Map<string, { pem: string; clusters: string[] }>();
  for (const c of live) {
    for (const pem of splitPemBundle(c.trustRootsPem ?? "")) {
      const fp = bundleFingerprints(pem)[0] ?? pem;
      const e = certs.get(fp) ?? { pem: pem.trim() + "\n", clusters: [] };
      e.clusters.push(nameOf(c));
      certs.set(fp, e);
    }
  }
  if (!certs.size)
    throw new ImportError(
      "IMPORT_NO_TRUST_ROOTS",
      `no cluster has a readable trust-root bundle (ConfigMap linkerd/linkerd-identity-trust-roots, key ca-bundle.crt) in ${live.map((c) => c.context).join(", ")}`,
    );
  const entries: Record<string, unknown>[] = [];
  const files: AnchorFile[] = [];
  const all = live.map(nameOf);
  [...certs.values()].forEach((c, i) => {
    const name = certs.size === 1 ? "root" : `root-${i + 1}`;
    const file = `${dir}/${name}.crt`;
    entries.push({ name, file });
    files.push({ file, pem: c.pem });
    const missing = all.filter((n) => !c.clusters.includes(n));
    if (missing.length)
      notes.push({
        path: ["spec", "trustAnchors", i],
        text: `only in ${c.clusters.join(", ")}'s trust roots, not in ${missing.join(", ")}'s; linked clusters must trust the same set (crosslink reports the difference)`,
      });
  });
  return { entries, files };
}

/** One `spec.links` entry, keeping the Link's controller and credentials as they are. */
function linkEntry(
  f: FoundLink,
  from: string,
  to: string,
  index: number,
  notes: ImportNote[],
): Record<string, unknown> {
  const at = ["spec", "links", index];
  const entry: Record<string, unknown> = { from, to };
  const said = (text: string) => notes.push({ path: at, text });
  if (f.guessedBy) said(`target ${to} matched because ${f.guessedBy} (the credentials' API server matched no context)`);
  const ns = f.link.metadata.namespace ?? "linkerd-multicluster";
  const n = linkNames(from, to);
  if (f.link.metadata.name !== n.link)
    said(
      `the live Link is named '${f.link.metadata.name}'; crosslink names it '${n.link}' and will create that one (delete the old Link after apply)`,
    );
  else if (f.targetName !== to)
    said(`the Link's targetClusterName is '${f.targetName}'; crosslink writes '${to}', which renames its mirrors`);

  // The controller: crosslink's own (managed), or someone else's (external: Helm chart, legacy `link`), or none.
  const controllers = f.source.controllers.filter(
    (d) => d.metadata.namespace === ns && d.metadata.labels?.[CLUSTER_NAME_LABEL] === f.targetName,
  );
  const mine = controllers.find((d) => d.metadata.labels?.[MANAGED_BY] === "crosslink");
  if (mine) {
    const image = containerImage(mine);
    const l = f.source.linkerd;
    const tag = l?.controllerImageVersion || l?.version;
    const derived = tag ? `${l?.controllerImage || DEFAULT_CONTROLLER_IMAGE}:${tag}` : undefined;
    if (image && image !== derived) entry.controllerImage = image;
  } else {
    entry.controller = "external";
    said(
      controllers.length
        ? `mirror controller ${controllers.map((d) => d.metadata.name).join(", ")} was made by ${managers(controllers[0]!)}; crosslink leaves it to its owner. \`controller: managed\` makes crosslink run ${n.controller} instead`
        : `no mirror controller runs for this Link; \`controller: managed\` makes crosslink run ${n.controller}`,
    );
  }

  const credentials: Record<string, unknown> = {};
  const kc = f.kubeconfig;
  if (!f.credentials || !kc.token) {
    said(
      `no readable credentials Secret ${ns}/${spec(f.link).clusterCredentialsSecret ?? n.credentials}; crosslink issues new ones`,
    );
  } else {
    if (f.credentials.metadata.name !== n.credentials)
      said(
        `the credentials Secret is '${f.credentials.metadata.name}'; crosslink writes '${n.credentials}' (the Link will point at it)`,
      );
    const claims = jwtClaims(kc.token);
    if (claims?.exp === undefined) credentials.mode = "service-account-token";
    else if (claims.iat !== undefined && claims.exp - claims.iat !== DEFAULT_TTL_SECONDS)
      credentials.ttl = formatDuration(claims.exp - claims.iat);
    if (kc.user && kc.user !== n.remoteAccess) {
      credentials.serviceAccount = kc.user;
    }
    if (claims?.exp === undefined)
      notes.push({
        path: [...at, "credentials"],
        text: `a long-lived token of ${kc.user ?? "an unnamed account"} (what link-gen writes): kept as it is. \`mode: token-request\` without serviceAccount switches to crosslink's bounded, rotated tokens of ${n.remoteAccess}`,
      });
  }
  if (Object.keys(credentials).length) entry.credentials = credentials;
  const s = f.link.spec as { excludedLabels?: string[]; excludedAnnotations?: string[] } | undefined;
  if (s?.excludedLabels?.length) entry.excludedLabels = [...s.excludedLabels];
  if (s?.excludedAnnotations?.length) entry.excludedAnnotations = [...s.excludedAnnotations];
  return entry;
}

function containerImage(d: KubeObject): string | undefined {
  const c = (d.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec
    ?.containers?.[0];
  return c?.image;
}

function managers(o: KubeObject): string {
  const m = [...new Set((o.metadata.managedFields ?? []).map((e) => e.manager).filter(Boolean))];
  return m.length ? m.join(", ") : "another tool";
}

function jwtClaims(token: string): { exp?: number; iat?: number } | undefined {
  const payload = token.split(".")[1];
  if (!payload) return {};
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: number; iat?: number };
  } catch {
    return {};
  }
}

/** The topology label crosslink left on a Link, a credentials Secret or a controller, if any. */
function ownerTopology(live: readonly LiveCluster[]): string | undefined {
  for (const c of live)
    for (const o of [...c.links, ...c.credentials, ...c.controllers]) {
      const t = o.metadata.labels?.[TOPOLOGY_LABEL];
      if (t && o.metadata.labels?.[MANAGED_BY] === "crosslink") return t;
    }
  return undefined;
}

/** An export entry and its key, for the split resolution. */
interface ExportFound {
  cluster: string;
  namespace: string;
  mode: ExportMode;
  services: string[];
  entry: Record<string, unknown>;
}

const MODE_OF_LABEL: Record<string, Record<string, ExportMode>> = {
  [EXPORTED_LABEL]: { true: "gateway", "remote-discovery": "remote-discovery" },
  [FEDERATED_LABEL]: { member: "federated" },
};

/** Exports, grouped by cluster, namespace and mode, services sorted. */
function exportEntries(
  live: readonly LiveCluster[],
  nameOf: (c: LiveCluster) => string,
  notes: ImportNote[],
): ExportFound[] {
  const groups = new Map<string, ExportFound>();
  for (const c of live) {
    for (const svc of [...c.exported].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      if (svc.metadata.labels?.["mirror.linkerd.io/mirrored-service"] === "true") continue;
      const modes: ExportMode[] = [];
      for (const [label, values] of Object.entries(MODE_OF_LABEL)) {
        const v = svc.metadata.labels?.[label];
        if (v === undefined) continue;
        const mode = values[v];
        if (mode) modes.push(mode);
        else
          notes.push({
            path: [],
            text: `Service ${nameOf(c)}/${svc.metadata.namespace}/${svc.metadata.name} has ${label}=${v}, a value no Link selects by default; not imported`,
          });
      }
      if (!modes.length) continue;
      if (modes.length > 1)
        notes.push({
          path: [],
          text: `Service ${nameOf(c)}/${svc.metadata.namespace}/${svc.metadata.name} is exported both as ${modes.join(" and ")}; imported as ${modes[0]} only`,
        });
      const mode = modes[0]!;
      const key = `${nameOf(c)}/${svc.metadata.namespace}/${mode}`;
      const g = groups.get(key) ?? {
        cluster: nameOf(c),
        namespace: svc.metadata.namespace ?? "default",
        mode,
        services: [],
        entry: {},
      };
      g.services.push(svc.metadata.name);
      groups.set(key, g);
    }
  }
  return [...groups.values()].map((g) => {
    g.entry = { cluster: g.cluster, namespace: g.namespace, services: g.services };
    if (g.mode !== "gateway") g.entry.mode = g.mode;
    return g;
  });
}

/** The split API of a route's group and kind. */
function apiOf(o: KubeObject): SplitApi | undefined {
  const group = o.apiVersion.split("/")[0];
  return SPLIT_APIS.find((a) => a.group === group && a.kind === o.kind)?.api;
}

/** A route's parent Service and weighted backends (Service names in its cluster), or why it is not a split. */
function routeShape(o: KubeObject): { service?: string; backends: { name: string; weight: number }[]; why?: string } {
  const s = (o.spec ?? {}) as {
    service?: string;
    backends?: { service: string; weight?: number }[];
    parentRefs?: { name: string; kind?: string; group?: string }[];
    rules?: { matches?: unknown[]; backendRefs?: { name: string; kind?: string; weight?: number }[] }[];
  };
  if (o.kind === "TrafficSplit")
    return {
      ...(s.service ? { service: s.service } : {}),
      backends: (s.backends ?? []).map((b) => ({ name: b.service, weight: b.weight ?? 1 })),
    };
  const parents = (s.parentRefs ?? []).filter((p) => (p.kind ?? "Service") === "Service");
  if (parents.length !== 1 || (s.parentRefs ?? []).length !== 1)
    return { backends: [], why: "it has not exactly one Service parent" };
  if ((s.rules ?? []).length !== 1) return { backends: [], why: "it has more than one rule" };
  const refs = (s.rules![0]!.backendRefs ?? []).filter((b) => (b.kind ?? "Service") === "Service");
  return { service: parents[0]!.name, backends: refs.map((b) => ({ name: b.name, weight: b.weight ?? 1 })) };
}

/** Splits: routes in a cluster that send to at least one mirror. */
function splitEntries(
  live: readonly LiveCluster[],
  found: readonly FoundLink[],
  nameOf: (c: LiveCluster) => string,
  exports: readonly ExportFound[],
  notes: ImportNote[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const exported = (cluster: string, ns: string, svc: string) =>
    exports.find((e) => e.cluster === cluster && e.namespace === ns && e.services.includes(svc));
  for (const c of live) {
    const cluster = nameOf(c);
    const targetOf = (linkTarget: string) => {
      const f = found.find((x) => x.source === c && x.targetName === linkTarget && x.target);
      return f?.target ? nameOf(f.target) : undefined;
    };
    const splitServices = new Set<string>();
    for (const route of [...c.routes].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      const api = apiOf(route);
      const ns = route.metadata.namespace ?? "default";
      const where = `${route.kind} ${cluster}/${ns}/${route.metadata.name}`;
      const shape = routeShape(route);
      const mirrorOf = (name: string) =>
        c.mirrors.find((m) => m.metadata.namespace === ns && m.metadata.name === name) ??
        expectedMirror(
          name,
          ns,
          c.links.map((l) => String(spec(l).targetClusterName ?? l.metadata.name)),
        );
      if (!api || !shape.backends.some((b) => mirrorOf(b.name))) continue;
      if (shape.why || !shape.service) {
        notes.push({ path: [], text: `${where} sends to a mirror but was not imported: ${shape.why ?? "no Service"}` });
        continue;
      }
      const backends: Record<string, unknown>[] = [];
      let skip: string | undefined;
      for (const b of shape.backends) {
        const m = mirrorOf(b.name);
        if (!m) {
          backends.push({ service: b.name, weight: b.weight });
          continue;
        }
        const remote = remoteOfMirror(m, targetOf);
        if (!remote) {
          skip = `backend ${b.name} is a mirror of a cluster that is not imported`;
          break;
        }
        const e = exported(remote.cluster, ns, remote.service);
        if (!e || (e.mode === "federated") !== remote.federated) {
          skip = `backend ${b.name} mirrors ${remote.cluster}/${ns}/${remote.service}, which is not exported${remote.federated ? " as federated" : ""} there now`;
          break;
        }
        backends.push({ service: remote.service, cluster: remote.cluster, weight: b.weight });
      }
      if (skip) {
        notes.push({ path: [], text: `${where} was not imported: ${skip}` });
        continue;
      }
      if (splitServices.has(`${ns}/${shape.service}`)) {
        notes.push({
          path: [],
          text: `${where} is a second route for Service ${ns}/${shape.service}; only the first was imported`,
        });
        continue;
      }
      splitServices.add(`${ns}/${shape.service}`);
      const index = out.length;
      out.push({ cluster, namespace: ns, service: shape.service, api, backends });
      const owned = route.metadata.labels?.[MANAGED_BY] === "crosslink";
      if (route.metadata.name !== splitName(shape.service))
        notes.push({
          path: ["spec", "splits", index],
          text: `from ${where}; crosslink writes it as ${splitName(shape.service)}: delete ${route.metadata.name} once that exists (two routes on one Service compete)`,
        });
      else if (!owned)
        notes.push({
          path: ["spec", "splits", index],
          text: `from ${where} (made by ${managers(route)}); crosslink adopts it`,
        });
    }
  }
  return out;
}

/**
 * A mirror the service mirror would make but that is not there (yet): a name
 * `<svc>-<target>` for a Link target of this cluster, as a stand-in object
 * with the labels a real mirror carries. Federated mirrors need their member
 * list, so `<svc>-federated` is recognised only when it exists.
 */
function expectedMirror(name: string, namespace: string, targets: readonly string[]): KubeObject | undefined {
  const target = targets.find((t) => name.endsWith(`-${t}`) && name.length > t.length + 1);
  if (!target) return undefined;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { [CLUSTER_NAME_LABEL]: target } },
  };
}

/** The exporting cluster and Service of a mirror: `<svc>-<target>` by its cluster label, `<svc>-federated` by its first remote member. */
function remoteOfMirror(
  m: KubeObject,
  targetOf: (linkTarget: string) => string | undefined,
): { cluster: string; service: string; federated: boolean } | undefined {
  const linkTarget = m.metadata.labels?.[CLUSTER_NAME_LABEL];
  if (linkTarget) {
    const cluster = targetOf(linkTarget);
    const fq = m.metadata.annotations?.["mirror.linkerd.io/remote-svc-fq-name"];
    const service = fq ? fq.split(".")[0]! : m.metadata.name.slice(0, -(linkTarget.length + 1));
    return cluster ? { cluster, service, federated: false } : undefined;
  }
  const members = (m.metadata.annotations?.["multicluster.linkerd.io/remote-discovery"] ?? "")
    .split(",")
    .filter(Boolean);
  for (const member of members) {
    const [service, target] = member.split("@");
    const cluster = target ? targetOf(target) : undefined;
    if (service && cluster) return { cluster, service, federated: true };
  }
  return undefined;
}
