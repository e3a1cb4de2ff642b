/**
 * The daemon's HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/status`
 * and `POST /hooks/git`. A thin shell over injected callbacks.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log.js";
import type { DaemonMetrics } from "./metrics.js";
import type { DaemonStatus } from "./status.js";
import { refMatches, verifyWebhook, type WebhookVerdict } from "./webhook.js";

/** Largest webhook body accepted. */
export const MAX_BODY = 1 << 20;

/** What the server serves from. */
export interface ServerDeps {
  status(): DaemonStatus;
  metrics: DaemonMetrics;
  /** The webhook secret, read when a hook arrives (so a mounted file can rotate). */
  webhookSecret(): string | undefined;
  follows: { branch?: string; tag?: string };
  /** Called for every verified push of the followed ref. */
  onPush(verdict: Extract<WebhookVerdict, { ok: true }>): void;
  log: Logger;
}

/** A listening server. */
export interface DaemonServer {
  /** http://HOST:PORT */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the server on host:port (port 0: a free one). */
export async function startServer(host: string, port: number, deps: ServerDeps): Promise<DaemonServer> {
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

function send(res: http.ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, deps: ServerDeps): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (req.method === "GET" || req.method === "HEAD") {
    switch (path) {
      case "/healthz":
        return send(res, 200, "ok\n");
      case "/readyz": {
        const ready = deps.status().ready;
        return send(res, ready ? 200 : 503, ready ? "ready\n" : "not ready: first reconcile not done\n");
      }
      case "/metrics":
        return send(res, 200, await deps.metrics.text(), deps.metrics.registry.contentType);
      case "/status":
        return send(res, 200, JSON.stringify(deps.status(), null, 2) + "\n", "application/json");
    }
  }
  if (path === "/hooks/git") {
    if (req.method !== "POST") return send(res, 405, "POST only\n");
    const body = await readBody(req);
    if (!body) return send(res, 413, "body too large\n");
    const verdict = verifyWebhook(deps.webhookSecret(), req.headers, body);
    if (!verdict.ok) {
      deps.log.warn({ status: verdict.status, reason: verdict.reason }, "webhook refused");
      return send(res, verdict.status, verdict.reason + "\n");
    }
    if (!refMatches(verdict.ref, deps.follows)) {
      deps.log.debug({ ref: verdict.ref }, "webhook for another ref ignored");
      return send(res, 202, JSON.stringify({ accepted: false, reason: "another ref" }) + "\n", "application/json");
    }
    deps.log.info({ provider: verdict.provider, event: verdict.event, ref: verdict.ref, after: verdict.after }, "webhook accepted");
    deps.onPush(verdict);
    return send(res, 202, JSON.stringify({ accepted: true }) + "\n", "application/json");
  }
  send(res, 404, "not found\n");
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
