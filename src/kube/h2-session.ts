/**
 * One HTTP/2 session per API server for the watches of a client, with
 * client-go's connection health check: when the session has read no frame
 * for `readIdleMs`, a PING is sent; no ack within `pingTimeoutMs` destroys
 * the session, and with it every stream on it, so the watches fail and
 * their reflectors report the cluster down. A PING is not an API request:
 * it is counted apart (`pings`). A hung server (SIGSTOP: TCP open, nothing
 * answers) is so detected within readIdle + pingTimeout of its last frame,
 * without a single request.
 */
import { createHash } from "node:crypto";
import http2 from "node:http2";
import type https from "node:https";
import { seconds } from "../util/abort.js";

/** How a watch session is health-checked. */
export interface LivenessOptions {
  /** A PING is sent once the session has read nothing for this long. */
  readIdleMs: number;
  /** A PING not acked (or a handshake not done) within this long destroys the session. */
  pingTimeoutMs: number;
}

/**
 * 5 s idle + 10 s ack: a hung server is noticed at most 15 s after its last
 * frame, within the daemon's 15 s observe deadline plus the cache's 2 s of
 * staleness, where client-go's 30 s + 15 s (sized for long-lived fleets)
 * would take up to 45 s. 10 s is the same bound as one request's answer
 * (DEFAULT_RETRY.timeoutMs): a loaded but live server acks within it. The
 * cost of an idle healthy session: one PING frame per 5 s.
 */
export const WATCH_LIVENESS: LivenessOptions = { readIdleMs: 5_000, pingTimeoutMs: 10_000 };

/** The TLS settings of a session, as the kubeconfig auth puts them in HTTPS options. */
export type SessionTls = Pick<
  https.RequestOptions,
  "ca" | "cert" | "key" | "pfx" | "passphrase" | "rejectUnauthorized" | "servername"
>;

/** What a session counts: the PINGs it sent. */
export interface PingCounter {
  pings?: number;
}

/** The TLS fields of HTTPS options that a session is opened with. */
export function sessionTls(opts: https.RequestOptions): SessionTls {
  const tls: SessionTls = {};
  for (const k of ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const)
    if (opts[k] !== undefined) (tls as Record<string, unknown>)[k] = opts[k];
  return tls;
}

/** A digest of TLS settings: a session is reused only while the credentials it was opened with are unchanged. */
function tlsKey(tls: SessionTls): string {
  const h = createHash("sha256");
  for (const [k, v] of Object.entries(tls).sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(k);
    const vals = Array.isArray(v) ? v : [v];
    for (const x of vals) h.update(typeof x === "object" && x !== null && "pem" in x ? String(x.pem) : String(x));
  }
  return h.digest("hex");
}

/** One HTTP/2 session and its health check. */
class LiveSession {
  readonly session: http2.ClientHttp2Session;
  private lastReadAt = Date.now();
  private readonly openedAt = Date.now();
  private timer?: NodeJS.Timeout;
  private pingDue?: NodeJS.Timeout;
  private streams = 0;
  private idleSince = Date.now();

  constructor(
    server: string,
    readonly key: string,
    tls: SessionTls,
    private readonly liveness: LivenessOptions,
    private readonly counter: PingCounter,
    onRefused: () => void,
  ) {
    this.session = http2.connect(server, { ...tls });
    // Failures reach the streams (and so the watches); the session itself must not throw unhandled.
    this.session.on("error", () => {});
    this.session.on("close", () => this.clearTimers());
    this.session.on("connect", () => {
      this.lastReadAt = Date.now();
      // An h2 session over TLS that did not agree on h2 cannot carry the watches.
      const alpn = this.session.alpnProtocol;
      if (this.session.encrypted && alpn !== "h2") {
        onRefused();
        this.session.destroy(new Error(`${server} did not agree to HTTP/2 (ALPN ${String(alpn)})`));
      }
    });
    this.schedule(liveness.readIdleMs);
  }

  /** Whether new streams may be opened on it. */
  get usable(): boolean {
    return !this.session.destroyed && !this.session.closed;
  }

  /** A GET on the session; its frames count as reads. */
  request(headers: http2.OutgoingHttpHeaders): http2.ClientHttp2Stream {
    const stream = this.session.request(headers, { endStream: true });
    this.streams++;
    const read = () => {
      this.lastReadAt = Date.now();
    };
    stream.on("response", read);
    stream.on("data", read);
    stream.once("close", () => {
      if (--this.streams === 0) this.idleSince = Date.now();
    });
    return stream;
  }

  /** Destroys the session and its streams. */
  destroy(): void {
    this.clearTimers();
    this.session.destroy();
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(ms, 1));
    this.timer.unref();
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
    clearTimeout(this.pingDue);
  }

  private check(): void {
    if (!this.usable) return;
    const now = Date.now();
    const { readIdleMs, pingTimeoutMs } = this.liveness;
    if (this.session.connecting) {
      if (now - this.openedAt >= pingTimeoutMs)
        return this.session.destroy(new Error(`no HTTP/2 handshake in ${seconds(pingTimeoutMs)}`));
      return this.schedule(Math.min(readIdleMs, pingTimeoutMs - (now - this.openedAt)));
    }
    // No watch has used the session for a whole idle period: close it rather than keep it alive with PINGs.
    if (this.streams === 0 && now - this.idleSince >= readIdleMs) return void this.session.close();
    const idle = now - this.lastReadAt;
    if (idle < readIdleMs) return this.schedule(readIdleMs - idle);
    const sent = this.session.ping((err) => {
      clearTimeout(this.pingDue);
      if (err || !this.usable) return;
      this.lastReadAt = Date.now();
      this.schedule(readIdleMs);
    });
    if (!sent) return void this.session.destroy(new Error("PING could not be sent"));
    this.counter.pings = (this.counter.pings ?? 0) + 1;
    this.pingDue = setTimeout(
      () =>
        this.session.destroy(
          new Error(`no PING ack in ${seconds(pingTimeoutMs)} after ${seconds(idle)} without a frame`),
        ),
      pingTimeoutMs,
    );
    this.pingDue.unref();
  }
}

/**
 * The watch sessions of one client: one live HTTP/2 session to its server at
 * a time, replaced when it failed or its TLS credentials changed (a session
 * being replaced stays open for the streams it still carries).
 */
export class WatchSessions {
  private current?: LiveSession;
  /** Whether the server refused HTTP/2 (ALPN): the watches then use HTTP/1.1. */
  refused = false;

  constructor(
    private readonly server: string,
    private readonly counter: PingCounter,
    /** Read at each new session, so a client's setting can change after construction (tests shorten it). */
    private readonly liveness: () => LivenessOptions,
  ) {}

  /** A GET of `path` on the current session (opened if needed) with the request's headers. */
  request(path: string, tls: SessionTls, headers: Record<string, string>): http2.ClientHttp2Stream {
    const key = tlsKey(tls);
    let s = this.current;
    if (!s || !s.usable || s.key !== key) {
      if (s?.usable) s.session.close();
      s = new LiveSession(this.server, key, tls, this.liveness(), this.counter, () => {
        this.refused = true;
      });
      const made = s;
      made.session.once("close", () => {
        if (this.current === made) this.current = undefined;
      });
      made.session.once("goaway", () => {
        if (this.current === made) this.current = undefined;
      });
      this.current = made;
    }
    return s.request({ ...h2Headers(headers), ":method": "GET", ":path": path });
  }

  /** Destroys the session and every stream on it. */
  close(): void {
    this.current?.destroy();
    this.current = undefined;
  }
}

/** HTTP/1.1 headers as HTTP/2 allows them: lower-case names, no connection-specific ones. */
function h2Headers(headers: Record<string, string>): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  const banned = new Set(["connection", "host", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (!banned.has(name)) out[name] = v;
  }
  return out;
}
