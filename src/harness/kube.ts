// Minimal Kubernetes plumbing for the harness on top of @kubernetes/client-node:
// a KubeConfig per context, a raw JSON request (authentication and TLS come from
// KubeConfig.applyToHTTPSOptions), and server-side apply.
//
// Server-side apply goes through the raw request rather than
// KubernetesObjectApi.patch because client-node's typed serializer rewrites
// known kinds (it drops `default` and `x-kubernetes-*` keys from CRD schemas),
// and it needs the status subresource, which KubernetesObjectApi cannot address.
// Resource names come from the API server's discovery documents (cached).
import https from "node:https";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";

/** Field manager the harness applies with; crosslink itself uses "crosslink". */
export const HARNESS_FIELD_MANAGER = "linkerd-harness";

/** Loads `kubeconfigPath` and selects `context` (default: its current context). */
export function kubeConfigFor(kubeconfigPath: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  if (context) {
    if (!kc.getContextObject(context)) throw new Error(`context ${context} not found in ${kubeconfigPath}`);
    kc.setCurrentContext(context);
  }
  return kc;
}

/** An HTTP error from the API server, with the decoded Status body when there is one. */
export class KubeHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly method: string,
    readonly path: string,
    readonly body: unknown,
  ) {
    const msg = (body as { message?: string } | undefined)?.message ?? JSON.stringify(body)?.slice(0, 300);
    super(`${method} ${path}: HTTP ${statusCode}: ${msg}`);
  }
}

export interface RequestOptions {
  contentType?: string;
  query?: Record<string, string | boolean | number | undefined>;
  timeoutMs?: number;
}

/** Sends one request to the current context's API server and returns the decoded JSON. */
export async function kubeRequest<T = unknown>(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const url = new URL(cluster.server.replace(/\/$/, "") + path);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const reqOpts: https.RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    headers: {
      Accept: "application/json",
      ...(payload !== undefined
        ? { "Content-Type": opts.contentType ?? "application/json", "Content-Length": Buffer.byteLength(payload) }
        : {}),
    },
    timeout: opts.timeoutMs ?? 30_000,
  };
  await kc.applyToHTTPSOptions(reqOpts);
  return new Promise<T>((resolve, reject) => {
    const req = https.request(reqOpts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* keep text */
        }
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) resolve(parsed as T);
        else reject(new KubeHttpError(code, method, url.pathname, parsed));
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}
const discoveryCache = new WeakMap<KubeConfig, Map<string, ApiResource[]>>();

/** The resource serving `kind` in `apiVersion` (discovery; re-fetched on a miss, e.g. for a new CRD). */
export async function apiResource(kc: KubeConfig, apiVersion: string, kind: string): Promise<ApiResource | undefined> {
  let cache = discoveryCache.get(kc);
  if (!cache) discoveryCache.set(kc, (cache = new Map()));
  const find = () => cache.get(apiVersion)?.find((r) => r.kind === kind && !r.name.includes("/"));
  const hit = find();
  if (hit) return hit;
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const list = await kubeRequest<{ resources: ApiResource[] }>(kc, "GET", base);
  cache.set(apiVersion, list.resources);
  return find();
}

/** REST path of an object (or of its `subresource`), from discovery. */
export async function objectPath(kc: KubeConfig, obj: KubernetesObject, subresource?: string): Promise<string> {
  const apiVersion = obj.apiVersion;
  const kind = obj.kind;
  const name = obj.metadata?.name;
  if (!apiVersion || !kind || !name) throw new Error(`object needs apiVersion, kind and metadata.name: ${JSON.stringify(obj).slice(0, 200)}`);
  const res = await apiResource(kc, apiVersion, kind);
  if (!res) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  let p = base;
  if (res.namespaced) {
    const ns = obj.metadata?.namespace;
    if (!ns) throw new Error(`${kind} ${name} is namespaced but has no metadata.namespace`);
    p += `/namespaces/${encodeURIComponent(ns)}`;
  }
  p += `/${res.name}/${encodeURIComponent(name)}`;
  return subresource ? `${p}/${subresource}` : p;
}

export interface ApplyOptions {
  fieldManager?: string;
  /** Take ownership of conflicting fields (default true, like kubectl apply --server-side --force-conflicts). */
  force?: boolean;
  /** e.g. "status" */
  subresource?: string;
}

/** Server-side applies one object (application/apply-patch+yaml; JSON is valid YAML). */
export async function serverSideApply<T extends KubernetesObject>(
  kc: KubeConfig,
  obj: T,
  opts: ApplyOptions = {},
): Promise<T> {
  const path = await objectPath(kc, obj, opts.subresource);
  return kubeRequest<T>(kc, "PATCH", path, obj, {
    contentType: "application/apply-patch+yaml",
    query: { fieldManager: opts.fieldManager ?? HARNESS_FIELD_MANAGER, force: opts.force ?? true },
  });
}

/** Polls `fn` every `intervalMs` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
