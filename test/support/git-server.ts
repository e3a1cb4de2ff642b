/**
 * A git smart-HTTP server on loopback for tests and benchmarks: a small Node
 * http server that runs Debian's `git http-backend` as a CGI program over a
 * directory of bare repositories. Counts requests and bytes, can demand basic
 * auth, and can be stopped and started again on the same port.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** Path of git's CGI program on Debian. */
export const GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

/** Options of the server. */
export interface GitServerOptions {
  /** Directory holding bare repositories (`<root>/<name>.git`). */
  root: string;
  /** When set, every request must carry these basic-auth credentials. */
  auth?: { username: string; password: string };
  /** Port to listen on; default a free one. */
  port?: number;
}

/** Traffic the server has seen since the last reset. */
export interface GitServerStats {
  requests: number;
  /** Response body bytes sent. */
  bytesOut: number;
  /** Request body bytes received. */
  bytesIn: number;
  /** Paths of the requests, in order (with query). */
  paths: string[];
  /** Requests answered 401. */
  unauthorized: number;
}

/** A running (or stopped) git HTTP server. */
export interface GitServer {
  /** Base URL, e.g. http://127.0.0.1:PORT; a repository is `${url}/<name>.git`. */
  readonly url: string;
  readonly port: number;
  stats: GitServerStats;
  resetStats(): void;
  /** Stops listening and drops open connections. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

const emptyStats = (): GitServerStats => ({ requests: 0, bytesOut: 0, bytesIn: 0, paths: [], unauthorized: 0 });

/** Starts a git HTTP server over `opts.root`. */
export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  let stats = emptyStats();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    stats.requests++;
    stats.paths.push(req.url ?? "");
    if (opts.auth && !authorized(req, opts.auth)) {
      stats.unauthorized++;
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' });
      res.end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: opts.root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      REMOTE_ADDR: req.socket.remoteAddress ?? "",
      REMOTE_USER: opts.auth?.username ?? "",
      GIT_CONFIG_NOSYSTEM: "1",
      HOME: opts.root,
    };
    if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
    if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
    if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
    const child = spawn(GIT_HTTP_BACKEND, [], { env, stdio: ["pipe", "pipe", "ignore"] });
    req.on("data", (c: Buffer) => (stats.bytesIn += c.length));
    req.pipe(child.stdin);
    child.stdin.on("error", () => {});
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        stats.bytesOut += chunk.length;
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const sep = findHeaderEnd(head);
      if (!sep) return;
      headersDone = true;
      const { status, headers } = parseCgiHeaders(head.subarray(0, sep.index).toString("latin1"));
      res.writeHead(status, headers);
      const body = head.subarray(sep.index + sep.length);
      stats.bytesOut += body.length;
      if (body.length) res.write(body);
    });
    child.on("close", () => {
      if (!headersDone) res.writeHead(502);
      res.end();
    });
    child.on("error", () => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };

  let server = http.createServer(handler);
  await listen(server, opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  let running = true;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get stats() {
      return stats;
    },
    set stats(s: GitServerStats) {
      stats = s;
    },
    resetStats() {
      stats = emptyStats();
    },
    async stop() {
      if (!running) return;
      running = false;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async start() {
      if (running) return;
      server = http.createServer(handler);
      await listen(server, port);
      running = true;
    },
  };
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function authorized(req: http.IncomingMessage, auth: { username: string; password: string }): boolean {
  const h = req.headers.authorization ?? "";
  if (!h.startsWith("Basic ")) return false;
  return Buffer.from(h.slice(6), "base64").toString("utf8") === `${auth.username}:${auth.password}`;
}

function findHeaderEnd(buf: Buffer): { index: number; length: number } | undefined {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (name.toLowerCase() === "status") status = parseInt(value, 10) || 200;
    else headers[name] = value;
  }
  return { status, headers };
}
