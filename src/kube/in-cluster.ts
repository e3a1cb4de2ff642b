/**
 * In-cluster access: inside a pod, the API server of the pod's own cluster is
 * `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, authenticated
 * with the ServiceAccount's projected token and verified with its CA, both
 * files in the ServiceAccount directory. The kubelet rotates the token file;
 * `ServiceAccountAuth` re-reads it (and the CA) whenever the files change.
 */
import { readFileSync, statSync, existsSync } from "node:fs";
import type https from "node:https";
import path from "node:path";
import { KubeError } from "./errors.js";
import { HttpClusterClient, type RequestAuth, type RetryPolicy } from "./http-client.js";

/** Where the kubelet mounts the ServiceAccount's token, CA and namespace. */
export const SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's own cluster, as the environment and the ServiceAccount directory describe it. */
export interface InClusterEnv {
  /** https://HOST:PORT of the API server. */
  server: string;
  /** The ServiceAccount directory (token, ca.crt, namespace). */
  dir: string;
  /** The pod's namespace from `namespace` in that directory, if present. */
  namespace?: string;
}

/**
 * Detects in-cluster mode: KUBERNETES_SERVICE_HOST and _PORT set and a token
 * file in the ServiceAccount directory (CROSSLINK_SERVICEACCOUNT_DIR, else the
 * kubelet's path). Undefined outside a cluster.
 */
export function detectInCluster(
  env: NodeJS.ProcessEnv = process.env,
  exists: (file: string) => boolean = existsSync,
  read: (file: string) => string = (f) => readFileSync(f, "utf8"),
): InClusterEnv | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  const dir = env.CROSSLINK_SERVICEACCOUNT_DIR || SERVICEACCOUNT_DIR;
  if (!exists(path.join(dir, "token"))) return undefined;
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let namespace: string | undefined;
  try {
    namespace = read(path.join(dir, "namespace")).trim() || undefined;
  } catch {
    namespace = undefined;
  }
  return { server, dir, ...(namespace ? { namespace } : {}) };
}

/**
 * Bearer-token auth from a ServiceAccount directory. The token and CA are read
 * again when either file's identity, size or modification time changed (the
 * kubelet swaps a symbolic link on rotation), checked before every request.
 */
export class ServiceAccountAuth implements RequestAuth {
  private cached?: { stamp: string; token: string; ca: string | undefined };

  constructor(
    readonly dir: string,
    private readonly cluster: string,
  ) {}

  /** A key that changes whenever the token or CA file changes. */
  stamp(): string {
    return [path.join(this.dir, "token"), path.join(this.dir, "ca.crt")]
      .map((f) => {
        try {
          const s = statSync(f);
          return `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return "-";
        }
      })
      .join("|");
  }

  /** None: a pod reaches its API server directly. */
  proxyUrl(): undefined {
    return undefined;
  }

  /** The CA the API server's certificate is verified with (undefined: the system's). */
  caPem(): string | undefined {
    try {
      return readFileSync(path.join(this.dir, "ca.crt"), "utf8");
    } catch {
      return undefined;
    }
  }

  /** Sets the CA and the Authorization header. */
  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const { token, ca } = this.read();
    if (ca) opts.ca = ca;
    opts.headers = { ...(opts.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` };
  }

  private read(): { token: string; ca: string | undefined } {
    const stamp = this.stamp();
    if (this.cached?.stamp === stamp) return this.cached;
    let token: string;
    try {
      token = readFileSync(path.join(this.dir, "token"), "utf8").trim();
    } catch (err) {
      throw new KubeError(
        "KUBE_UNREACHABLE",
        `ServiceAccount token ${path.join(this.dir, "token")}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`,
        this.cluster,
      );
    }
    this.cached = { stamp, token, ca: this.caPem() };
    return this.cached;
  }
}

/** A client for the pod's own cluster through its ServiceAccount; `name` labels errors and facts. */
export function inClusterClient(ic: InClusterEnv, name: string, retry?: RetryPolicy): HttpClusterClient {
  const auth = new ServiceAccountAuth(ic.dir, name);
  return new HttpClusterClient(name, auth, ic.server, auth.caPem(), retry);
}
