/**
 * The daemon's HTTP endpoints, on two listeners: the public webhook listener
 * (`POST /hooks/git`, `/healthz`) and the operators' listener (`/metrics`,
 * `/status`, `/healthz`, `/readyz`). A thin shell over injected callbacks.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log.js";
import type { DaemonMetrics } from "./metrics.js";
import { redactStatus, type DaemonStatus } from "./status.js";
import { DeliveryLog, refMatches, verifyWebhook, type WebhookVerdict } from "./webhook.js";

/** Largest webhook body accepted. */
export const MAX_BODY = 1 << 20;

/**
 * Largest oversize body read (and discarded) so the client gets its 413 on a
 * connection it is done writing to; beyond it, or after `DRAIN_MS`, the
 * connection is closed after the 413.
 */
export const MAX_DRAIN = 16 << 20;
const DRAIN_MS = 10_000;

/** Which endpoints a listener serves: the webhook, or metrics and status. */
export type Endpoints = "webhook" | "metrics";

/** What the server serves from. */
export interface ServerDeps {
  endpoints: Endpoints;
  status(): DaemonStatus;
  /** `/status` with server names and error texts; else redacted. */
  statusDetail: boolean;
  metrics: DaemonMetrics;
  /** The webhook secret, read when a hook arrives (so a mounted file can rotate). */
  webhookSecret(): string | undefined;
  follows: { branch?: string; tag?: string };
  /** Called for every verified push of the followed ref. */
  onPush(verdict: Extract<WebhookVerdict, { ok: true }>): void;
  log: Logger;
  /** Delivery ids seen recently (default: ten minutes, in memory). */
  deliveries?: DeliveryLog;
}

/** A listening server. */
export interface DaemonServer {
  /** http://HOST:PORT */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the server on host:port (port 0: a free one). */
export async function startServer(host: string, port: number, serverDeps: ServerDeps): Promise<DaemonServer> {
  const deps = { ...serverDeps, deliveries: serverDeps.deliveries ?? new DeliveryLog() };
  const server = http.createServer((req, res) => {
    handle(req, res, deps).catch((err) => {
      deps.log.error({ err: err instanceof Error ? err.message : String(err), path: req.url }, "http handler failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
  close = false,
): void {
  res.writeHead(status, {
    "Content-Type": type,
    "Cache-Control": "no-store",
    ...(close ? { Connection: "close" } : {}),
  });
  res.end(body);
}

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: ServerDeps & { deliveries: DeliveryLog },
): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if ((req.method === "GET" || req.method === "HEAD") && path === "/healthz") return send(res, 200, "ok\n");
  if (deps.endpoints === "metrics") return metricsEndpoint(req, res, path, deps);
  if (path === "/hooks/git") return webhookEndpoint(req, res, deps);
  send(res, 404, "not found\n");
}

/** `/readyz`, `/metrics` and `/status`. */
async function metricsEndpoint(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  deps: ServerDeps,
): Promise<void> {
  if (req.method === "GET" || req.method === "HEAD") {
    switch (path) {
      case "/readyz": {
        const ready = deps.status().ready;
        return send(res, ready ? 200 : 503, ready ? "ready\n" : "not ready: first reconcile not done\n");
      }
      case "/metrics":
        return send(res, 200, await deps.metrics.text(), deps.metrics.registry.contentType);
      case "/status": {
        const status = deps.statusDetail ? { ...deps.status(), detail: true } : redactStatus(deps.status());
        return send(res, 200, JSON.stringify(status, null, 2) + "\n", "application/json");
      }
    }
  }
  send(res, 404, "not found\n");
}

/** `POST /hooks/git`: verified, deduplicated, filtered by ref, then handed to `onPush`. */
async function webhookEndpoint(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  deps: ServerDeps & { deliveries: DeliveryLog },
): Promise<void> {
  if (req.method !== "POST") return send(res, 405, "POST only\n");
  const body = await readBody(req);
  if (body.tooLarge) {
    deps.log.warn({ status: 413, bytes: body.bytes }, "webhook refused: body too large");
    return send(res, 413, `body too large: over ${MAX_BODY} bytes\n`, undefined, !body.drained);
  }
  const verdict = verifyWebhook(deps.webhookSecret(), req.headers, body.data);
  if (!verdict.ok) {
    deps.log.warn({ status: verdict.status, reason: verdict.reason }, "webhook refused");
    return send(res, verdict.status, verdict.reason + "\n");
  }
  if (verdict.delivery !== undefined && deps.deliveries.seenBefore(verdict.delivery)) {
    deps.log.info(
      { provider: verdict.provider, delivery: verdict.delivery },
      "webhook delivery seen before; acknowledged without a reconcile",
    );
    return send(
      res,
      200,
      JSON.stringify({ accepted: false, reason: "delivery seen before" }) + "\n",
      "application/json",
    );
  }
  if (!refMatches(verdict.ref, deps.follows)) {
    deps.log.debug({ ref: verdict.ref }, "webhook for another ref ignored");
    return send(res, 202, JSON.stringify({ accepted: false, reason: "another ref" }) + "\n", "application/json");
  }
  deps.log.info(
    { provider: verdict.provider, event: verdict.event, ref: verdict.ref, after: verdict.after },
    "webhook accepted",
  );
  deps.onPush(verdict);
  return send(res, 202, JSON.stringify({ accepted: true }) + "\n", "application/json");
}

/** A request body read with a cap: the data, or how much was refused and whether all of it was read. */
type Body = { tooLarge: false; data: Buffer } | { tooLarge: true; bytes: number; drained: boolean };

/**
 * Reads a body of at most MAX_BODY bytes. A larger one is read on and
 * discarded up to MAX_DRAIN bytes or DRAIN_MS (so the 413 reaches a client
 * still writing), and not at all when Content-Length already says it is over MAX_DRAIN.
 */
function readBody(req: http.IncomingMessage): Promise<Body> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > MAX_DRAIN) return Promise.resolve({ tooLarge: true, bytes: declared, drained: false });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (body: Body) => {
      clearTimeout(timer);
      req.removeAllListeners("data");
      resolve(body);
    };
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
      else if (size > MAX_DRAIN) finish({ tooLarge: true, bytes: size, drained: false });
      else if (!timer) {
        chunks.length = 0;
        timer = setTimeout(() => finish({ tooLarge: true, bytes: size, drained: false }), DRAIN_MS);
      }
    });
    req.on("end", () =>
      finish(
        size > MAX_BODY
          ? { tooLarge: true, bytes: size, drained: true }
          : { tooLarge: false, data: Buffer.concat(chunks) },
      ),
    );
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
