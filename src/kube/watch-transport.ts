/**
 * The two transports of a WATCH request (HttpClusterClient.watch): a stream
 * on the client's shared HTTP/2 session (h2-session.ts), or one HTTP/1.1
 * request on a socket of its own. Each opens the request, hands the answer's
 * status and body stream to the caller, and reports how the stream ended;
 * reading events and turning failures into errors is the caller's.
 */
import http2, { type ClientHttp2Stream } from "node:http2";
import https from "node:https";
import { sessionTls, type WatchSessions } from "./h2-session.js";

/** What a transport reports about one watch request. */
export interface WatchStreamEvents {
  /** The answer's status line is in; `body` carries the events (200) or the failure's body. */
  answered(status: number, body: NodeJS.ReadableStream): void;
  /** The stream failed once opened (a reset, its connection lost). */
  broke(err: Error): void;
  /** The stream closed before its end without an error (a reset, its session destroyed by the health check). */
  cut(): void;
  /** Nothing was read for the idle bound. */
  silent(): void;
  /** The request could not be sent or answered (HTTP/1.1: refused connection, TLS failure). */
  unreachable(err: Error): void;
}

/** One watch request: where, with which HTTPS options and headers, and how long the stream may stay silent. */
export interface WatchRequest {
  url: URL;
  options: https.RequestOptions;
  headers: Record<string, string>;
  idleMs: number;
}

/** Opens a watch as a stream of the shared HTTP/2 session; returns how to cancel it. */
export function watchOverH2(sessions: WatchSessions, req: WatchRequest, events: WatchStreamEvents): () => void {
  const headers = { ...req.headers };
  if (req.options.auth) headers.Authorization ??= `Basic ${Buffer.from(req.options.auth).toString("base64")}`;
  let stream: ClientHttp2Stream;
  try {
    stream = sessions.request(`${req.url.pathname}${req.url.search}`, sessionTls(req.options), headers);
  } catch (e) {
    events.broke(e as Error);
    return () => {};
  }
  stream.on("response", (h) => events.answered(Number(h[":status"] ?? 0), stream));
  stream.setTimeout(req.idleMs, () => events.silent());
  stream.on("error", (e) => events.broke(e));
  stream.on("close", () => events.cut());
  return () => {
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  };
}

/**
 * Opens a watch as an HTTP/1.1 request on a socket of its own (`agent`: no keep-alive); returns how to cancel it.
 * No health check: a hung server is noticed when the socket has been silent for `idleMs`.
 */
export function watchOverH1(agent: https.Agent, req: WatchRequest, events: WatchStreamEvents): () => void {
  const r = https.request(
    req.url,
    { ...req.options, method: "GET", headers: req.headers, agent, timeout: req.idleMs },
    (res) => {
      events.answered(res.statusCode ?? 0, res);
      res.on("error", (e) => events.broke(e));
      res.on("close", () => {
        if (!res.complete) events.cut();
      });
    },
  );
  r.on("timeout", () => events.silent());
  r.on("error", (e) => events.unreachable(e));
  r.end();
  return () => r.destroy();
}
