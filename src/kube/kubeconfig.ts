/**
 * A kubeconfig without the root of @kubernetes/client-node (whose import pulls
 * in the whole generated API and proxy agents, ~54 MiB of RSS): client-node
 * still parses the entries (`config_types.js`) and runs the exec and token-file
 * authenticators; the azure, gcp and oidc ones are imported only when a user's
 * auth-provider names them. What is re-implemented here is the glue of
 * client-node's `KubeConfig` (dist/config.js), with the same behaviour: lookup
 * by name, relative paths, the default load order and the TLS and auth options
 * it sets on a request. One difference: several KUBECONFIG files merge as
 * kubectl merges them (the first file that sets a value wins), not as
 * client-node does (the last current-context wins, a repeated name throws). `proxyUrl()` hands the cluster's proxy-url to the caller;
 * no agent is made here (the HTTP client brings its own).
 */
import fs from "node:fs";
import type https from "node:https";
import net from "node:net";
import path from "node:path";
import yaml from "js-yaml";
import {
  newClusters,
  newContexts,
  newUsers,
  type Cluster,
  type ConfigOptions,
  type Context,
  type User,
} from "@kubernetes/client-node/dist/config_types.js";
import { ExecAuth } from "@kubernetes/client-node/dist/exec_auth.js";
import { FileAuth } from "@kubernetes/client-node/dist/file_auth.js";
import { CrosslinkError } from "../errors.js";
import type { RequestAuth } from "./http-client.js";
import { SERVICEACCOUNT_DIR } from "./in-cluster.js";

export type { Cluster, Context, User };

/** A kubeconfig that cannot be read, parsed or merged; the message names the file first when there is one. */
export class KubeconfigError extends CrosslinkError<"KUBECONFIG_INVALID"> {
  /** Creates an error whose message names the file first. */
  constructor(message: string, cause?: unknown) {
    super("KUBECONFIG_INVALID", message, cause === undefined ? {} : { cause });
    this.name = "KubeconfigError";
  }
}

/** The entries of a kubeconfig, as `Kubeconfig.loadFromOptions` takes them. */
export interface KubeconfigOptions {
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext: string | undefined;
}

/** What client-node's authenticators do to a request (`Authenticator` of dist/auth.js). */
interface Authenticator {
  applyAuthentication(user: User, opts: https.RequestOptions): Promise<void>;
}

/** The auth-providers whose authenticators are imported on first use (they pull in openid-client, jsonpath-plus). */
type LazyProvider = "azure" | "gcp" | "oidc";

const LAZY_AUTHENTICATORS: Record<LazyProvider, () => Promise<Authenticator>> = {
  azure: async () => new (await import("@kubernetes/client-node/dist/azure_auth.js")).AzureAuth(),
  gcp: async () => new (await import("@kubernetes/client-node/dist/gcp_auth.js")).GoogleCloudPlatformAuth(),
  oidc: async () => new (await import("@kubernetes/client-node/dist/oidc_auth.js")).OpenIDConnectAuth(),
};

/**
 * A loaded kubeconfig: its clusters, users and contexts, the current context,
 * and the request options of that context. Each instance keeps its own
 * authenticators (an exec plugin's credential is cached per instance).
 */
export class Kubeconfig implements RequestAuth {
  clusters: Cluster[] = [];
  users: User[] = [];
  contexts: Context[] = [];
  private currentContext: string | undefined;
  private readonly exec = new ExecAuth();
  private readonly file = new FileAuth();
  private readonly lazy = new Map<LazyProvider, Promise<Authenticator>>();

  /** The contexts, in file order. */
  getContexts(): Context[] {
    return this.contexts;
  }

  /** The clusters, in file order. */
  getClusters(): Cluster[] {
    return this.clusters;
  }

  /** The users, in file order. */
  getUsers(): User[] {
    return this.users;
  }

  /** The name of the current context (`current-context`); "" when there is none. */
  getCurrentContext(): string {
    return this.currentContext ?? "";
  }

  /** Selects the current context by name (not checked). */
  setCurrentContext(name: string): void {
    this.currentContext = name;
  }

  /** The context of that name, or null. */
  getContextObject(name: string | undefined): Context | null {
    return byName(this.contexts, name);
  }

  /** The cluster of that name, or null. */
  getCluster(name: string | undefined): Cluster | null {
    return byName(this.clusters, name);
  }

  /** The user of that name, or null. */
  getUser(name: string | undefined): User | null {
    return byName(this.users, name);
  }

  /** The cluster of the current context, or null. */
  getCurrentCluster(): Cluster | null {
    const ctx = this.getContextObject(this.currentContext);
    return ctx ? this.getCluster(ctx.cluster) : null;
  }

  /** The current context's cluster's `proxy-url`, if it names one. */
  proxyUrl(): string | undefined {
    return this.getCurrentCluster()?.proxyUrl;
  }

  /** The user of the current context, or null. */
  getCurrentUser(): User | null {
    const ctx = this.getContextObject(this.currentContext);
    return ctx ? this.getUser(ctx.user) : null;
  }

  /** Replaces every entry with the given ones. */
  loadFromOptions(options: KubeconfigOptions): void {
    this.clusters = options.clusters;
    this.users = options.users;
    this.contexts = options.contexts;
    this.currentContext = options.currentContext;
  }

  /** Parses kubeconfig YAML (client-node's parsing); throws a KubeconfigError when it is not one. */
  loadFromString(text: string, opts?: Partial<ConfigOptions>): void {
    try {
      const obj = yaml.load(text) as Record<string, unknown> | null | undefined;
      if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new Error("not a YAML mapping");
      this.clusters = newClusters(obj.clusters, opts);
      this.contexts = newContexts(obj.contexts, opts);
      this.users = newUsers(obj.users, opts);
      this.currentContext = obj["current-context"] as string | undefined;
    } catch (err) {
      throw new KubeconfigError(err instanceof Error ? err.message : String(err), err);
    }
  }

  /** Reads and parses a file; relative certificate paths are taken from the file's directory. */
  loadFromFile(file: string, opts?: Partial<ConfigOptions>): void {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw new KubeconfigError(`${file}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`, err);
    }
    try {
      this.loadFromString(text, opts);
    } catch (err) {
      throw new KubeconfigError(`${file}: ${(err as Error).message}`, err);
    }
    this.makePathsAbsolute(path.dirname(file));
  }

  /**
   * The default load order: every file of KUBECONFIG merged in order, else
   * ~/.kube/config, else the pod's ServiceAccount, else http://localhost:8080
   * with no credentials. Files merge by kubectl's rule: the first file that
   * sets a value wins, for the current-context and for each cluster, user and
   * context by name (a later file's entry of the same name is ignored); a
   * listed file that does not exist is skipped (KUBECONFIG_INVALID when none does).
   * client-node differs: there the last current-context wins and a repeated
   * name throws.
   */
  loadFromDefault(env: NodeJS.ProcessEnv = process.env): void {
    const listed = (env.KUBECONFIG ?? "").split(path.delimiter).filter((f) => f);
    if (env.KUBECONFIG) {
      // As kubectl: a listed file that does not exist is skipped; unlike kubectl, none existing is an error.
      const files = listed.filter((f) => !missing(f));
      if (!files.length)
        throw new KubeconfigError(`KUBECONFIG names no file that exists: ${listed.join(path.delimiter) || "(empty)"}`);
      this.loadFromFile(files[0]!);
      for (const file of files.slice(1)) {
        const next = new Kubeconfig();
        next.loadFromFile(file);
        this.merge(next);
      }
      return;
    }
    const home = homeDir(env);
    const config = home ? path.join(home, ".kube", "config") : undefined;
    if (config && exists(config)) return this.loadFromFile(config);
    if (exists(`${SERVICEACCOUNT_DIR}/token`)) return this.loadFromCluster(env);
    this.loadFromOptions({
      clusters: [{ name: "cluster", server: "http://localhost:8080", skipTLSVerify: false }],
      users: [{ name: "user" }],
      contexts: [{ name: "loaded-context", cluster: "cluster", user: "user" }],
      currentContext: "loaded-context",
    });
  }

  /** The pod's own cluster: KUBERNETES_SERVICE_HOST/PORT and the ServiceAccount's CA, token file and namespace. */
  loadFromCluster(env: NodeJS.ProcessEnv = process.env, root = SERVICEACCOUNT_DIR): void {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
    const serverHost = host && net.isIPv6(host) ? `[${host}]` : host;
    const namespaceFile = `${root}/namespace`;
    const namespace = exists(namespaceFile) ? fs.readFileSync(namespaceFile, "utf8") : undefined;
    this.loadFromOptions({
      clusters: [
        {
          name: "inCluster",
          caFile: `${root}/ca.crt`,
          server: `${scheme}://${serverHost}:${port}`,
          skipTLSVerify: false,
        },
      ],
      users: [{ name: "inClusterUser", authProvider: { name: "tokenFile", config: { tokenFile: `${root}/token` } } }],
      contexts: [{ name: "inClusterContext", cluster: "inCluster", user: "inClusterUser", namespace }],
      currentContext: "inClusterContext",
    });
  }

  /** Resolves relative CA, client certificate and key paths against `root`. */
  makePathsAbsolute(root: string): void {
    for (const c of this.clusters) if (c.caFile) c.caFile = absolute(root, c.caFile);
    for (const u of this.users) {
      if (u.certFile) u.certFile = absolute(root, u.certFile);
      if (u.keyFile) u.keyFile = absolute(root, u.keyFile);
    }
  }

  /**
   * Sets the current context's TLS options and credentials on `opts`, as
   * client-node does: ca/cert/key from file or base64 data, servername from
   * tls-server-name, rejectUnauthorized=false for insecure-skip-tls-verify,
   * Impersonate-User, the authenticator's headers (exec plugin, token file,
   * azure/gcp/oidc), then a bearer token and basic auth. Nothing at all when
   * the context has no user.
   */
  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const user = this.getCurrentUser();
    if (!user) return;
    const cluster = this.getCurrentCluster();
    if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = cluster ? fileOrData(cluster.caFile, cluster.caData) : undefined;
    if (ca) opts.ca = ca;
    const cert = fileOrData(user.certFile, user.certData);
    if (cert) opts.cert = cert;
    const key = fileOrData(user.keyFile, user.keyData);
    if (key) opts.key = key;
    const headers = (opts.headers ??= {}) as Record<string, string>;
    if (user.impersonateUser != null) headers["Impersonate-User"] = user.impersonateUser;
    await (await this.authenticator(user))?.applyAuthentication(user, opts);
    if (user.token) headers.Authorization = `Bearer ${user.token}`;
    if (user.username) opts.auth = `${user.username}:${user.password}`;
  }

  /** A kubeconfig of the same entries whose current context is `context` (its authenticators are its own). */
  withContext(context: string): Kubeconfig {
    const out = new Kubeconfig();
    out.loadFromOptions({
      clusters: this.clusters,
      users: this.users,
      contexts: this.contexts,
      currentContext: context,
    });
    return out;
  }

  /**
   * Adds a later KUBECONFIG file's entries as kubectl does: a name already
   * present keeps its first definition, and its current context is taken only
   * when none is set yet.
   */
  private merge(later: Kubeconfig): void {
    this.currentContext ||= later.currentContext;
    addNew(this.clusters, later.clusters);
    addNew(this.users, later.users);
    addNew(this.contexts, later.contexts);
  }

  /** client-node's choice of authenticator, in its order: azure, gcp, exec, token file, oidc. */
  private async authenticator(user: User): Promise<Authenticator | undefined> {
    const provider = (user.authProvider as { name?: unknown } | null | undefined)?.name;
    if (provider === "azure" || provider === "gcp") return this.lazyAuthenticator(provider);
    if (this.exec.isAuthProvider(user)) return this.exec;
    if (this.file.isAuthProvider(user)) return this.file;
    if (provider === "oidc") return this.lazyAuthenticator(provider);
    return undefined;
  }

  private lazyAuthenticator(provider: LazyProvider): Promise<Authenticator> {
    let a = this.lazy.get(provider);
    if (!a) this.lazy.set(provider, (a = LAZY_AUTHENTICATORS[provider]()));
    return a;
  }
}

function byName<T extends { name: string }>(list: readonly T[], name: string | undefined): T | null {
  return list.find((o) => o.name === name) ?? null;
}

/** Appends the entries of `from` whose name `into` does not hold yet (the first definition wins). */
function addNew<T extends { name: string }>(into: T[], from: readonly T[]): void {
  for (const o of from) if (!into.some((x) => x.name === o.name)) into.push(o);
}

function absolute(root: string, file: string): string {
  return !root || path.isAbsolute(file) ? file : path.join(root, file);
}

function fileOrData(file: string | undefined | null, data: string | undefined | null): Buffer | undefined {
  if (file) return fs.readFileSync(file);
  if (data) return Buffer.from(data, "base64");
  return undefined;
}

/** Whether a file is absent (ENOENT); a file that exists but cannot be read is not missing. */
function missing(file: string): boolean {
  try {
    fs.statSync(file);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}

function exists(file: string): boolean {
  try {
    fs.accessSync(file);
    return true;
  } catch {
    return false;
  }
}

/** $HOME when it exists (client-node's findHomeDir off Windows). */
function homeDir(env: NodeJS.ProcessEnv): string | undefined {
  return env.HOME && exists(env.HOME) ? env.HOME : undefined;
}
