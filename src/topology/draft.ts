/**
 * The draft: a tolerant, normalised reading of the parsed document that the
 * semantic rules run on even when the schema found problems. Every list keeps
 * the index of its source item so rules can point at it; a field the schema
 * rejected is simply absent (its problem is already reported).
 */
import type { ControllerMode, CredentialsMode, ExportMode, SplitApi } from "./types.js";
import { parseDuration } from "./duration.js";
import { DEFAULT_EXPORT_MODE, EXPORT_MODE_NAMES } from "../extensions/export-modes.js";
import { SPLIT_API_NAMES } from "../extensions/split-apis.js";

/** Defaults Linkerd itself uses when the topology says nothing. */
export const BUILTIN_DEFAULTS = {
  linkerdNamespace: "linkerd",
  multiclusterNamespace: "linkerd-multicluster",
  clusterDomain: "cluster.local",
  ttlSeconds: 24 * 3600,
} as const;

/** A trust anchor entry as written. */
export interface DraftAnchor {
  index: number;
  name?: string;
  file?: string;
  pem?: string;
  role?: string;
}

/** A cluster with defaults applied. */
export interface DraftCluster {
  index: number;
  name?: string;
  context?: string;
  apiServer?: string;
  gateway?: { addresses?: string[]; port?: number };
  linkerdNamespace: string;
  multiclusterNamespace: string;
  clusterDomain: string;
}

/** A link with defaults applied. */
export interface DraftLink {
  index: number;
  from?: string;
  to?: string;
  controller: ControllerMode;
  controllerImage?: string;
  mode: CredentialsMode;
  /** `credentials.serviceAccount`: a remote-access account someone else made in the target. */
  serviceAccount?: string;
  /** Whether `credentials.ttl` was written. */
  ttlGiven: boolean;
  ttlSeconds?: number;
  excludedLabels: string[];
  excludedAnnotations: string[];
}

/** One service name of an export, with its index in `services`. */
export interface DraftService {
  index: number;
  name: string;
}

/** An export entry. */
export interface DraftExport {
  index: number;
  cluster?: string;
  namespace?: string;
  services: DraftService[];
  mode: ExportMode;
}

/** A split backend as written (weight absent when not a non-negative integer). */
export interface DraftBackend {
  index: number;
  service?: string;
  cluster?: string;
  weight?: number;
}

/** A split entry. */
export interface DraftSplit {
  index: number;
  cluster?: string;
  namespace?: string;
  service?: string;
  api?: SplitApi;
  backends: DraftBackend[];
  /** Whether `backends` was a list (false: the schema already complained). */
  backendsGiven: boolean;
}

/** The whole tolerant reading of a document. */
export interface Draft {
  apiVersion?: string;
  kind?: string;
  name?: string;
  manageTrust: boolean;
  anchors: DraftAnchor[];
  clusters: DraftCluster[];
  links: DraftLink[];
  exports: DraftExport[];
  splits: DraftSplit[];
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {};
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
function strs(v: unknown): string[] {
  return list(v).filter((x): x is string => typeof x === "string");
}
function oneOf<T extends string>(v: unknown, allowed: readonly T[], dflt: T): T {
  return allowed.includes(v as T) ? (v as T) : dflt;
}
function maybeOneOf<T extends string>(v: unknown, allowed: readonly T[]): T | undefined {
  return allowed.includes(v as T) ? (v as T) : undefined;
}

/** Reads any parsed value into a draft, filling defaults; never throws. */
export function toDraft(data: unknown): Draft {
  const root = obj(data);
  const spec = obj(root.spec);
  const defaults = obj(spec.defaults);
  const dLinkerd = str(defaults.linkerdNamespace) ?? BUILTIN_DEFAULTS.linkerdNamespace;
  const dMc = str(defaults.multiclusterNamespace) ?? BUILTIN_DEFAULTS.multiclusterNamespace;
  const dDomain = str(defaults.clusterDomain) ?? BUILTIN_DEFAULTS.clusterDomain;

  const anchors = list(spec.trustAnchors).map((raw, index): DraftAnchor => {
    const a = obj(raw);
    return { index, name: str(a.name), file: str(a.file), pem: str(a.pem), role: str(a.role) };
  });

  const clusters = list(spec.clusters).map((raw, index): DraftCluster => {
    const c = obj(raw);
    const name = str(c.name);
    const g = c.gateway === undefined ? undefined : obj(c.gateway);
    const cluster: DraftCluster = {
      index,
      name,
      context: str(c.context) ?? name,
      linkerdNamespace: str(c.linkerdNamespace) ?? dLinkerd,
      multiclusterNamespace: str(c.multiclusterNamespace) ?? dMc,
      clusterDomain: str(c.clusterDomain) ?? dDomain,
    };
    const api = str(c.apiServer);
    if (api) cluster.apiServer = api;
    if (g) {
      cluster.gateway = {};
      if (Array.isArray(g.addresses)) cluster.gateway.addresses = strs(g.addresses);
      if (typeof g.port === "number" && Number.isInteger(g.port)) cluster.gateway.port = g.port;
    }
    return cluster;
  });

  const links = list(spec.links).map((raw, index): DraftLink => {
    const l = obj(raw);
    const cred = obj(l.credentials);
    const ttl = typeof cred.ttl === "string" ? parseDuration(cred.ttl) : undefined;
    const link: DraftLink = {
      index,
      from: str(l.from),
      to: str(l.to),
      controller: oneOf(l.controller, ["managed", "external"] as const, "managed"),
      mode: oneOf(cred.mode, ["token-request", "service-account-token"] as const, "token-request"),
      ttlGiven: cred.ttl !== undefined,
      ttlSeconds: cred.ttl === undefined ? BUILTIN_DEFAULTS.ttlSeconds : ttl,
      excludedLabels: strs(l.excludedLabels),
      excludedAnnotations: strs(l.excludedAnnotations),
    };
    const image = str(l.controllerImage);
    if (image) link.controllerImage = image;
    const account = str(cred.serviceAccount);
    if (account) link.serviceAccount = account;
    return link;
  });

  const exports = list(spec.exports).map((raw, index): DraftExport => {
    const e = obj(raw);
    const services: DraftService[] = [];
    list(e.services).forEach((s, i) => {
      if (typeof s === "string" && s !== "") services.push({ index: i, name: s });
    });
    return {
      index,
      cluster: str(e.cluster),
      namespace: str(e.namespace),
      services,
      mode: oneOf(e.mode, EXPORT_MODE_NAMES, DEFAULT_EXPORT_MODE),
    };
  });

  const splits = list(spec.splits).map((raw, index): DraftSplit => {
    const s = obj(raw);
    const backends = list(s.backends).map((rb, i): DraftBackend => {
      const b = obj(rb);
      const w = b.weight;
      return {
        index: i,
        service: str(b.service),
        cluster: str(b.cluster),
        weight: typeof w === "number" && Number.isInteger(w) && w >= 0 ? w : undefined,
      };
    });
    const split: DraftSplit = {
      index,
      cluster: str(s.cluster),
      namespace: str(s.namespace),
      service: str(s.service),
      backends,
      backendsGiven: Array.isArray(s.backends),
    };
    const api = maybeOneOf(s.api, SPLIT_API_NAMES);
    if (api) split.api = api;
    return split;
  });

  return {
    apiVersion: str(root.apiVersion),
    kind: str(root.kind),
    name: str(obj(root.metadata).name),
    manageTrust: spec.manageTrust === true,
    anchors,
    clusters,
    links,
    exports,
    splits,
  };
}
