/**
 * isomorphic-git's node HTTP client with a byte budget: it counts requests
 * and response body bytes, and aborts a response whose body grows past the
 * budget. isomorphic-git buffers a whole packfile in memory (about three
 * times its size at peak, measured), so a body is only handed on once it is
 * known to fit.
 */
import nodeHttp from "node:http";
import nodeHttps from "node:https";
import http from "isomorphic-git/http/node";
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git/http/node";
import { SourceError } from "./errors.js";

/** The default cap on the bytes one fetch may download (`--max-fetch-bytes`). */
export const DEFAULT_MAX_FETCH_BYTES = 64 * 1024 * 1024;

/** Size of the blocks a response body is handed to isomorphic-git in. */
const BLOCK_BYTES = 1024 * 1024;

/** Requests made and response bytes received, updated as they stream. */
export interface HttpTraffic {
  requests: number;
  bytes: number;
}

/** The error a response over the budget ends with (`SOURCE_TOO_LARGE`). */
export function fetchTooLarge(what: string, maxBytes: number): SourceError {
  return new SourceError("SOURCE_TOO_LARGE", `${what}: the server sent more than ${maxBytes} bytes (--max-fetch-bytes); refused`);
}

/**
 * A client that counts into `traffic` and, once one response body passes
 * `maxBytes`, destroys the connection and makes the body throw the error
 * `tooLarge()` returns. The error is also kept in `state.error` because
 * isomorphic-git may wrap or swallow errors of the body stream.
 */
export function boundedHttp(traffic: HttpTraffic, maxBytes: number, tooLarge: () => Error, state: { error?: Error } = {}): HttpClient {
  // Node's global agent gives up on a socket idle for 5 s, which a server packing a big repository easily is.
  const agents = { http: new nodeHttp.Agent({ keepAlive: true }), https: new nodeHttps.Agent({ keepAlive: true }) };
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      traffic.requests++;
      const abort = new AbortController();
      const agent = req.url.startsWith("https:") ? agents.https : agents.http;
      const res = await http.request({ ...req, agent, signal: abort.signal } as GitHttpRequest);
      const body = res.body;
      if (!body) return res;
      let seen = 0;
      // The whole body is received before isomorphic-git sees any of it: a body over the budget is
      // dropped having cost only itself (isomorphic-git's own buffering of a pack costs several times
      // its size), and an accepted one is handed on in blocks of about 1 MiB, released as they go.
      async function* counted(): AsyncGenerator<Uint8Array> {
        let parts: Uint8Array[] = [];
        for await (const chunk of body!) {
          seen += chunk.byteLength;
          traffic.bytes += chunk.byteLength;
          if (seen > maxBytes) {
            parts = [];
            state.error = tooLarge();
            // stop the download: the connection is destroyed, nothing more is received
            abort.abort(state.error);
            throw state.error;
          }
          parts.push(chunk);
        }
        while (parts.length) {
          let n = 0;
          let bytes = 0;
          while (n < parts.length && bytes < BLOCK_BYTES) bytes += parts[n++]!.byteLength;
          yield Buffer.concat(parts.splice(0, n), bytes);
        }
      }
      return { ...res, body: counted() as AsyncIterableIterator<Uint8Array> };
    },
  };
}
