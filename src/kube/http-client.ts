/**
 * `ClusterClient` over HTTPS: a Kubeconfig (kubeconfig.ts: client-node's
 * parsing and authenticators) applies its auth (certificates, tokens, exec
 * plugins) to node:https options; this module makes the few REST calls
 * crosslink needs, with keep-alive, pagination, retries with backoff and
 * request counting. Every call can carry an AbortSignal that cancels the
 * request in flight and the waits between retries, and writes a fence
 * checked right before sending.
 * Failures that retries could not cure say how many attempts were made and
 * how long they took in all.
 */
import https from "node:https";
import type net from "node:net";
import tls from "node:tls";
import { KubeError, isRetryable } from "./errors.js";
import type { DiscoveryStore } from "./discovery-cache.js";
import { WATCH_LIVENESS, WatchSessions, type LivenessOptions } from "./h2-session.js";
import { ForbiddenLists } from "./forbidden-lists.js";
import { IDLE_SOCKET_MS, clusterAgents, type ClusterAgents } from "./proxy-agent.js";
import { redactUrl } from "../util/redact-url.js";
import { resourcePath } from "./kinds.js";
import { watchLineReader } from "./watch-events.js";
import { watchOverH1, watchOverH2, type WatchStreamEvents } from "./watch-transport.js";
import { scopeKey } from "./watch-store.js";
import { describeRef, type KubeObject, type ObjectRef } from "./object.js";
import { DeadlineError, abortText, seconds, sleep } from "../util/abort.js";
import type {
  AccessAnswer,
  AccessQuestion,
  CallOptions,
  ClusterClient,
  IssuedToken,
  ListOptions,
  RequestCounters,
  VersionedList,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from "./port.js";

/** The field manager crosslink writes with. */
export const FIELD_MANAGER = "crosslink";

/**
 * How requests are authenticated and routed: a Kubeconfig (certificates,
 * tokens, exec plugins, its cluster's proxy-url) or a ServiceAccount's token
 * files. `stamp`, when present, changes whenever the credentials did, so they
 * are applied again at once.
 */
export interface RequestAuth {
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
  /** The proxy requests go through (a kubeconfig cluster's `proxy-url`); undefined: straight to the API server. */
  proxyUrl(): string | undefined;
  stamp?(): string;
}

/** Retry policy of one request. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  /** How long one attempt may go without an answer. */
  timeoutMs: number;
}

/**
 * The default policy: 3 attempts of at most 10 s, so one request to a hung
 * server costs at most about 31 s; callers bound a whole cluster's work with a
 * deadline signal on top (see engine/reconcile.ts).
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, timeoutMs: 10_000 };

/**
 * How long one discovery answer (`GET /apis`) is reused by a client: kubectl
 * caches discovery too; a LIST that finds a discovered version gone (404)
 * drops the cache at once.
 */
export const DISCOVERY_TTL_MS = 5 * 60_000;

interface RequestOpts extends CallOptions {
  allow404?: boolean;
  contentType?: string;
  write?: boolean;
  noRetryConflict?: boolean;
  what: string;
}

interface Response {
  status: number;
  body: unknown;
}

/** A client for one kubeconfig context. */
export class HttpClusterClient implements ClusterClient {
  readonly counters: RequestCounters = { requests: 0, writes: 0, retries: 0, pings: 0, byVerb: {} };
  /** The agents, direct or through the kubeconfig's proxy-url: made on the first request. */
  private agents?: Promise<ClusterAgents>;
  /** How the watches' HTTP/2 session is health-checked (read when a session opens). */
  watchLiveness: LivenessOptions = WATCH_LIVENESS;
  /** Whether watches may use HTTP/2 (false: one HTTP/1.1 connection per watch, no health check). */
  http2Watches = true;
  private readonly sessions: WatchSessions;
  /** The LISTs refused (403) that callers asked this client to remember. */
  private readonly forbiddenLists = new ForbiddenLists(() => this.cluster);
  private baseOptions?: https.RequestOptions;
  private optionsAt = 0;
  private optionsStamp?: string;
  private discovered?: { at: number; groups: Promise<Record<string, string[]>> };
  /** The server's time by the `Date` header of its last answer, and `performance.now()` when it came. */
  private serverClock?: { serverMs: number; monoMs: number };
  /** How long a discovery answer is reused (0: never). */
  discoveryTtlMs = DISCOVERY_TTL_MS;
  /** How long a kept-alive request socket may sit unused before it is closed; read when the first request is made. */
  idleSocketMs = IDLE_SOCKET_MS;
  /** Where discovery answers are kept between processes (the CLI's disk cache); none by default. */
  discoveryStore?: DiscoveryStore;

  constructor(
    readonly cluster: string,
    private readonly auth: RequestAuth,
    readonly server: string,
    readonly caPem: string | undefined,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.sessions = new WatchSessions(server, this.counters, () => this.watchLiveness);
  }

  async get(ref: ObjectRef, opts: CallOptions = {}): Promise<KubeObject | undefined> {
    const res = await this.request("GET", resourcePath(ref.apiVersion, ref.kind, ref.namespace, ref.name), undefined, {
      ...call(opts),
      allow404: true,
      what: describeRef(ref),
    });
    return res.status === 404 ? undefined : (res.body as KubeObject);
  }

  async list(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<KubeObject[]> {
    return (await this.listVersioned(apiVersion, kind, opts)).items;
  }

  /** A LIST (every page) with the collection's resourceVersion, from which a WATCH starts. */
  async listVersioned(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<VersionedList> {
    const scope = scopeKey({ apiVersion, kind, ...opts });
    return this.forbiddenLists.run(scope, opts.rememberForbidden, `list ${kind}`, () =>
      this.listPages(apiVersion, kind, opts),
    );
  }

  private async listPages(apiVersion: string, kind: string, opts: ListOptions): Promise<VersionedList> {
    const items: KubeObject[] = [];
    let resourceVersion = "";
    let cont: string | undefined;
    do {
      const q = new URLSearchParams({ limit: "500" });
      if (opts.labelSelector) q.set("labelSelector", opts.labelSelector);
      if (opts.fieldSelector) q.set("fieldSelector", opts.fieldSelector);
      if (cont) q.set("continue", cont);
      const path = `${resourcePath(apiVersion, kind, opts.namespace)}?${q}`;
      const res = await this.request("GET", path, undefined, { ...call(opts), what: `list ${kind}` }).catch(
        (err: unknown) => {
          if (err instanceof KubeError && err.code === "KUBE_NOT_FOUND") this.forgetDiscovery();
          throw err;
        },
      );
      const body = res.body as { items?: KubeObject[]; metadata?: { continue?: string; resourceVersion?: string } };
      for (const item of body.items ?? []) items.push({ ...item, apiVersion, kind });
      cont = body.metadata?.continue || undefined;
      resourceVersion = body.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * A WATCH from `opts.resourceVersion`: calls `onEvent` for every event until
   * the server ends the stream (resolves) or it breaks (rejects: KUBE_GONE when
   * the version is too old, KUBE_ABORTED when `opts.signal` fired, else the
   * failure). Counted as one request (verb `watch`); not retried here: the
   * caller (watch-cache.ts) re-watches with backoff. Over HTTPS the watches of
   * a client share one HTTP/2 session, health-checked with PINGs
   * (h2-session.ts: a hung server fails every watch on it within
   * `watchLiveness`); see `watchesOverH2` for when HTTP/1.1 is used instead.
   */
  async watch(
    apiVersion: string,
    kind: string,
    opts: WatchOptions,
    onEvent: (event: WatchEvent) => void,
  ): Promise<void> {
    const q = new URLSearchParams({ watch: "1", resourceVersion: opts.resourceVersion });
    if (opts.allowWatchBookmarks) q.set("allowWatchBookmarks", "true");
    if (opts.timeoutSeconds) q.set("timeoutSeconds", String(opts.timeoutSeconds));
    if (opts.labelSelector) q.set("labelSelector", opts.labelSelector);
    if (opts.fieldSelector) q.set("fieldSelector", opts.fieldSelector);
    const url = new URL(`${resourcePath(apiVersion, kind, opts.namespace)}?${q}`, this.server);
    const what = `watch ${kind}`;
    const o: RequestOpts = { ...call(opts), what };
    const base = await this.options();
    const agents = await this.agentsOf();
    if (opts.signal?.aborted) throw this.aborted(o, 0, Date.now());
    this.counters.requests++;
    this.counters.byVerb.watch = (this.counters.byVerb.watch ?? 0) + 1;
    // The stream may stay silent between events: bookmarks come about once a minute, the stream ends at timeoutSeconds.
    const idleMs = ((opts.timeoutSeconds ?? 600) + 60) * 1000;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let cancel = () => {};
      const onAbort = () => fail(this.aborted(o, 1, Date.now()));
      const release = () => {
        clearTimeout(firstByte);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        release();
        cancel();
        reject(err);
      };
      const end = () => {
        if (settled) return;
        settled = true;
        release();
        resolve();
      };
      const firstByte = setTimeout(
        () =>
          fail(
            new KubeError(
              "KUBE_TIMEOUT",
              `${what}: no answer from ${this.server} in ${seconds(this.retry.timeoutMs)}`,
              this.cluster,
            ),
          ),
        this.retry.timeoutMs,
      );
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const read = watchLineReader(apiVersion, kind, {
        event: onEvent,
        error: (st) =>
          fail(
            st === undefined
              ? new KubeError("KUBE_HTTP", `${what}: unreadable event`, this.cluster)
              : st.code === 410
                ? this.gone(what, st)
                : this.httpError(st.code ?? 500, st, what),
          ),
      });
      const push = (chunk: string) => {
        try {
          read(chunk);
        } catch (err) {
          fail(err);
        }
      };
      /** The answer's status line is in: a failure status collects its body, 200 starts the events. */
      const answered = (status: number, body: NodeJS.ReadableStream) => {
        clearTimeout(firstByte);
        body.setEncoding("utf8");
        if (status !== 200) {
          let text = "";
          body.on("data", (c: string) => (text += c));
          body.on("end", () => {
            const parsed = parseBody(text);
            fail(status === 410 ? this.gone(what, parsed) : this.httpError(status, parsed, what));
          });
          return;
        }
        opts.onOpen?.();
        body.on("data", push);
        body.on("end", end);
      };
      const req = {
        url,
        options: base,
        headers: { ...(base.headers as Record<string, string>), Accept: "application/json" },
        idleMs,
      };
      // HTTP/1.1, one socket per watch, for a server without TLS or without HTTP/2, or a kubeconfig proxy-url
      // (node:http2 cannot tunnel through the proxy agents).
      cancel = this.watchesOverH2(url)
        ? watchOverH2(this.sessions, req, this.watchEvents(what, idleMs, answered, fail))
        : watchOverH1(agents.watch, req, this.watchEvents(what, idleMs, answered, fail));
    });
  }

  /** How a watch's transport reports to `watch()`: the answer to `answered`, every failure as a KubeError to `fail`. */
  private watchEvents(
    what: string,
    idleMs: number,
    answered: WatchStreamEvents["answered"],
    fail: (err: KubeError) => void,
  ): WatchStreamEvents {
    const unreachable = (text: string) => fail(new KubeError("KUBE_UNREACHABLE", `${what}: ${text}`, this.cluster));
    return {
      answered,
      broke: (e) => unreachable(`stream from ${this.server} broke: ${e.message}`),
      cut: () => unreachable(`stream from ${this.server} cut`),
      silent: () => fail(new KubeError("KUBE_TIMEOUT", `${what}: silent for ${seconds(idleMs)}`, this.cluster)),
      unreachable: (e) =>
        e instanceof KubeError ? fail(e) : unreachable(`${this.server} unreachable${this.via()}: ${e.message}`),
    };
  }

  /**
   * Whether a watch of `url` goes over the shared HTTP/2 session: over HTTPS,
   * unless the server refused HTTP/2 or the kubeconfig names a proxy-url.
   */
  private watchesOverH2(url: URL): boolean {
    if (!this.http2Watches || url.protocol !== "https:" || this.sessions.refused) return false;
    return !this.auth.proxyUrl();
  }

  /**
   * The server's clock minus this process's (see ClusterClient): the server's time from the `Date` header of its
   * last answer, moved on by the monotonic time since, so a step of the local clock meanwhile counts.
   */
  clockOffsetMs(): number | undefined {
    const c = this.serverClock;
    return c && c.serverMs + (performance.now() - c.monoMs) - Date.now();
  }

  private noteServerDate(date: string | undefined): void {
    const serverMs = date === undefined ? undefined : serverTimeOfDate(date);
    if (serverMs !== undefined) this.serverClock = { serverMs, monoMs: performance.now() };
  }

  /** ` through proxy URL` when the kubeconfig names a proxy (its password left out), else nothing: for messages. */
  private via(): string {
    const proxy = this.auth.proxyUrl();
    return proxy ? ` through proxy ${redactUrl(proxy)}` : "";
  }

  /** The agents of this client (made once; a proxy-url crosslink cannot use fails every request with KUBE_INVALID). */
  private agentsOf(): Promise<ClusterAgents> {
    return (this.agents ??= clusterAgents(this.cluster, this.auth.proxyUrl(), this.idleSocketMs));
  }

  /** The error of a watch whose version the server no longer has (410 Gone). */
  private gone(what: string, body: unknown): KubeError {
    const msg =
      typeof body === "object" && body && "message" in body ? String((body as { message: unknown }).message) : "";
    return new KubeError("KUBE_GONE", `${what}: 410 ${msg}`.trim(), this.cluster, 410);
  }

  async apply(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const q = writeQuery(opts);
    if (opts.force) q.set("force", "true");
    const sub = opts.subresource ? `/${opts.subresource}` : "";
    const path = `${resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name)}${sub}?${q}`;
    const res = await this.request("PATCH", path, obj, {
      ...call(opts),
      contentType: "application/apply-patch+yaml",
      write: !opts.dryRun,
      what: describeRef({ ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace }),
    });
    return res.body as KubeObject;
  }

  async delete(ref: ObjectRef, opts: WriteOptions = {}): Promise<boolean> {
    const q = new URLSearchParams({ propagationPolicy: "Background" });
    if (opts.dryRun) q.set("dryRun", "All");
    const path = `${resourcePath(ref.apiVersion, ref.kind, ref.namespace, ref.name)}?${q}`;
    const res = await this.request("DELETE", path, undefined, {
      ...call(opts),
      allow404: true,
      write: !opts.dryRun,
      what: describeRef(ref),
    });
    return res.status !== 404;
  }

  async update(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const path = `${resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name)}?${writeQuery(opts)}`;
    const res = await this.request("PUT", path, obj, {
      ...call(opts),
      contentType: "application/json",
      write: !opts.dryRun,
      noRetryConflict: true,
      what: describeRef({ ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace }),
    });
    return res.body as KubeObject;
  }

  async patch(ref: ObjectRef, patch: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const path = `${resourcePath(ref.apiVersion, ref.kind, ref.namespace, ref.name)}?${writeQuery(opts)}`;
    const builtIn = !ref.apiVersion.includes(".") || ref.apiVersion.startsWith("apps/");
    const res = await this.request("PATCH", path, patch, {
      ...call(opts),
      contentType: builtIn ? "application/strategic-merge-patch+json" : "application/merge-patch+json",
      write: !opts.dryRun,
      what: describeRef(ref),
    });
    return res.body as KubeObject;
  }

  async createToken(
    namespace: string,
    serviceAccount: string,
    expirationSeconds: number,
    opts: CallOptions = {},
  ): Promise<IssuedToken> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`;
    const body = { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds } };
    const res = await this.request("POST", path, body, {
      ...call(opts),
      contentType: "application/json",
      write: true,
      what: `ServiceAccount ${namespace}/${serviceAccount} token`,
    });
    const status = (res.body as { status?: { token?: string; expirationTimestamp?: string } }).status ?? {};
    if (!status.token)
      throw new KubeError("KUBE_HTTP", `ServiceAccount ${namespace}/${serviceAccount}: no token issued`, this.cluster);
    return { token: status.token, expirationTimestamp: status.expirationTimestamp ?? "" };
  }

  async servedVersions(group: string, opts: CallOptions = {}): Promise<string[]> {
    const res = await this.request("GET", `/apis/${group}`, undefined, {
      ...call(opts),
      allow404: true,
      what: `API group ${group}`,
    });
    if (res.status === 404) return [];
    const body = res.body as { versions?: { version: string }[]; preferredVersion?: { version: string } };
    return (body.versions ?? []).map((v) => v.version);
  }

  async reviewAccess(question: AccessQuestion, opts: CallOptions = {}): Promise<AccessAnswer> {
    const { verb, group, resource, namespace } = question;
    const body = {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { verb, group, resource, ...(namespace ? { namespace } : {}) } },
    };
    // A review creates nothing: it is not counted as a write.
    const res = await this.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body, {
      ...call(opts),
      contentType: "application/json",
      what: `access review ${verb} ${group ? `${resource}.${group}` : resource}`,
    });
    const status = (res.body as { status?: { allowed?: boolean; reason?: string } }).status ?? {};
    return { allowed: status.allowed === true, ...(status.reason ? { reason: status.reason } : {}) };
  }

  async discovery(opts: CallOptions = {}): Promise<Record<string, string[]>> {
    const cached = this.discovered;
    if (cached && Date.now() - cached.at < this.discoveryTtlMs) return cached.groups;
    const fetch = async (): Promise<Record<string, string[]>> => {
      const stored = await this.discoveryStore?.read(this.server, this.caPem);
      if (stored && Date.now() - stored.at < this.discoveryTtlMs && stored.at <= Date.now()) return stored.groups;
      const res = await this.request("GET", "/apis", undefined, { ...call(opts), what: "API discovery" });
      const body = res.body as { groups?: { name: string; versions?: { version: string }[] }[] };
      const answer = Object.fromEntries(
        (body.groups ?? []).map((g) => [g.name, (g.versions ?? []).map((v) => v.version)]),
      );
      await this.discoveryStore?.write(this.server, this.caPem, { at: Date.now(), groups: answer });
      return answer;
    };
    const groups = fetch();
    const entry = { at: Date.now(), groups };
    this.discovered = entry;
    // A failed discovery is not reused.
    groups.catch(() => {
      if (this.discovered === entry) this.discovered = undefined;
    });
    return groups;
  }

  /** Drops the discovery answer in memory and on disk: a discovered version was not found. */
  forgetDiscovery(): void {
    this.discovered = undefined;
    void this.discoveryStore?.write(this.server, this.caPem, { at: 0, groups: {} });
  }

  /** The API server's `/readyz` answer (`ok` when ready). */
  async readyz(): Promise<string> {
    const res = await this.request("GET", "/readyz", undefined, { what: "readyz" });
    return String(res.body ?? "");
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    void this.agents?.then(
      (a) => {
        a.unary.destroy();
        a.watch.destroy();
      },
      () => {},
    );
    this.sessions.close();
  }

  private async request(method: string, path: string, body: unknown, o: RequestOpts): Promise<Response> {
    const started = Date.now();
    let attempt = 0;
    for (;;) {
      try {
        return await this.once(method, path, body, o);
      } catch (err) {
        attempt++;
        if (o.signal?.aborted) throw this.aborted(o, attempt, started);
        // Throttling (429 with Retry-After) says "later", not "broken": it gets a few more attempts.
        const throttled = err instanceof KubeError && err.retryAfterMs !== undefined;
        const attempts = throttled ? this.retry.attempts + 4 : this.retry.attempts;
        if (
          attempt >= attempts ||
          !isRetryable(err) ||
          (o.noRetryConflict && err instanceof KubeError && err.code === "KUBE_CONFLICT")
        ) {
          throw withTotals(err, attempt, started);
        }
        this.counters.retries++;
        const backoff = this.retry.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
        // Spread the retries of parallel requests over [Retry-After, 2 × Retry-After] so they do not collide again.
        const delay = throttled ? Math.min((err as KubeError).retryAfterMs! * (1 + Math.random()), 10_000) : backoff;
        try {
          await sleep(delay, o.signal);
        } catch {
          throw this.aborted(o, attempt, started);
        }
      }
    }
  }

  /** The error of a call its signal cancelled: KUBE_TIMEOUT for a deadline, KUBE_ABORTED otherwise. */
  private aborted(o: RequestOpts, attempts: number, started: number): KubeError {
    const deadline = o.signal?.reason instanceof DeadlineError;
    const text = `${o.what}: ${o.signal ? abortText(o.signal) : "aborted"} (${attempts} attempt${attempts === 1 ? "" : "s"}, ${seconds(Date.now() - started)} in all)`;
    return new KubeError(deadline ? "KUBE_TIMEOUT" : "KUBE_ABORTED", text, this.cluster);
  }

  /**
   * TLS and auth options, refreshed every minute (exec-plugin and file tokens
   * expire) and at once when the auth's stamp changed (a rotated token file).
   */
  private async options(): Promise<https.RequestOptions> {
    const stamp = this.auth.stamp?.();
    if (!this.baseOptions || Date.now() - this.optionsAt > 60_000 || stamp !== this.optionsStamp) {
      const opts: https.RequestOptions = {};
      await this.auth.applyToHTTPSOptions(opts);
      this.baseOptions = opts;
      this.optionsAt = Date.now();
      this.optionsStamp = stamp;
    }
    return this.baseOptions;
  }

  private async once(method: string, path: string, body: unknown, o: RequestOpts): Promise<Response> {
    const base = await this.options();
    const { unary: agent } = await this.agentsOf();
    if (o.signal?.aborted) throw this.aborted(o, 0, Date.now());
    if (o.write && o.mayWrite && !o.mayWrite())
      throw new KubeError("KUBE_ABORTED", `${o.what}: write refused unsent: no longer allowed to write`, this.cluster);
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    this.counters.requests++;
    this.counters.byVerb[method] = (this.counters.byVerb[method] ?? 0) + 1;
    if (o.write) this.counters.writes++;
    return new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string | number> = {
        ...(base.headers as Record<string, string>),
        Accept: "application/json",
      };
      if (payload) {
        headers["Content-Type"] = o.contentType ?? "application/json";
        headers["Content-Length"] = payload.length;
      }
      const req = https.request(url, { ...base, method, headers, agent, timeout: this.retry.timeoutMs }, (res) => {
        this.noteServerDate(res.headers.date);
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => reject(new KubeError("KUBE_UNREACHABLE", `${o.what}: ${e.message}`, this.cluster)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          const parsed = parseBody(text);
          if (status >= 200 && status < 300) return resolve({ status, body: parsed });
          if (status === 404 && o.allow404) return resolve({ status, body: parsed });
          const retryAfter = Number(res.headers["retry-after"]);
          reject(
            this.httpError(
              status,
              parsed,
              o.what,
              Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
            ),
          );
        });
      });
      const noAnswer = () =>
        req.destroy(
          new KubeError(
            "KUBE_TIMEOUT",
            `${o.what}: no answer from ${this.server} in ${seconds(this.retry.timeoutMs)}`,
            this.cluster,
          ),
        );
      // The socket's idle timeout starts only once a connection is made; this one bounds waiting for a socket,
      // connecting and the TLS handshake too, until the answer's headers arrive.
      const firstByte = setTimeout(noAnswer, this.retry.timeoutMs);
      req.once("response", () => clearTimeout(firstByte));
      req.once("close", () => clearTimeout(firstByte));
      req.on("timeout", noAnswer);
      // The fence again when the request can leave at once: a write that waited for a socket, a connection or a TLS
      // handshake (a process stopped meanwhile, its Lease lost) must not go out late. Nothing is handed to the socket
      // before: a connecting socket would send it when the handshake ends, past any check.
      const send = () => {
        if (payload) req.write(payload);
        req.end();
      };
      if (o.write && o.mayWrite) {
        const fence = o.mayWrite;
        req.once("socket", (socket) =>
          whenWritable(socket, () => {
            if (fence()) return send();
            req.destroy(
              new KubeError(
                "KUBE_ABORTED",
                `${o.what}: write refused unsent: no longer allowed to write`,
                this.cluster,
              ),
            );
          }),
        );
      }
      const onAbort = () => req.destroy(this.aborted(o, 1, Date.now()));
      o.signal?.addEventListener("abort", onAbort, { once: true });
      req.once("close", () => o.signal?.removeEventListener("abort", onAbort));
      req.on("error", (e) =>
        reject(
          e instanceof KubeError
            ? e
            : new KubeError(
                "KUBE_UNREACHABLE",
                `${o.what}: ${this.server} unreachable${this.via()}: ${e.message}`,
                this.cluster,
              ),
        ),
      );
      if (!(o.write && o.mayWrite)) send();
    });
  }

  private httpError(status: number, body: unknown, what: string, retryAfterMs?: number): KubeError {
    const msg =
      typeof body === "object" && body && "message" in body
        ? String((body as { message: unknown }).message)
        : String(body ?? "");
    const reason =
      typeof body === "object" && body && "reason" in body ? String((body as { reason: unknown }).reason) : "";
    const text = `${what}: ${status} ${msg}`.trim();
    if (status === 404) return new KubeError("KUBE_NOT_FOUND", text, this.cluster, status);
    if (status === 403 || status === 401) return new KubeError("KUBE_FORBIDDEN", text, this.cluster, status);
    if (status === 422 || status === 400) return new KubeError("KUBE_INVALID", text, this.cluster, status);
    if (status === 409) {
      const applyConflict = reason === "Conflict" && /conflict/i.test(msg) && /manager/i.test(msg);
      return new KubeError(applyConflict ? "KUBE_APPLY_CONFLICT" : "KUBE_CONFLICT", text, this.cluster, status);
    }
    return new KubeError("KUBE_HTTP", text, this.cluster, status, retryAfterMs);
  }
}

/**
 * The server's time (epoch ms) by an answer's `Date` header: whole seconds, so the server's time lies in
 * [date, date + 1 s) and its middle is taken; undefined when the header does not parse.
 */
export function serverTimeOfDate(date: string): number | undefined {
  const at = Date.parse(date);
  return Number.isNaN(at) ? undefined : at + 500;
}

/** An answer's body: its JSON when it parses, else its text; undefined when empty. */
function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The call options of a method's options (signal and fence). */
function call(opts: CallOptions): CallOptions {
  const c: CallOptions = {};
  if (opts.signal) c.signal = opts.signal;
  if (opts.mayWrite) c.mayWrite = opts.mayWrite;
  return c;
}

/** A final failure of timeouts or unreachability, with the number of attempts and the time they took in all. */
function withTotals(err: unknown, attempts: number, started: number): unknown {
  if (!(err instanceof KubeError) || (err.code !== "KUBE_TIMEOUT" && err.code !== "KUBE_UNREACHABLE")) return err;
  const text = `${err.message}; ${attempts} attempt${attempts === 1 ? "" : "s"}, ${seconds(Date.now() - started)} in all`;
  return new KubeError(err.code, text, err.cluster, err.status, err.retryAfterMs);
}

function writeQuery(opts: WriteOptions): URLSearchParams {
  const q = new URLSearchParams({ fieldManager: opts.fieldManager ?? FIELD_MANAGER });
  if (opts.dryRun) q.set("dryRun", "All");
  return q;
}

/** Calls `ready` once `socket` can carry bytes at once: connected and, for TLS, past the handshake. */
function whenWritable(socket: net.Socket, ready: () => void): void {
  if (socket instanceof tls.TLSSocket && !socket.getCipher()) socket.once("secureConnect", ready);
  else if (socket.connecting) socket.once("connect", ready);
  else ready();
}
