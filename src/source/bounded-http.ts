/**
 * isomorphic-git's node HTTP client with a byte budget: it counts requests
 * and response body bytes, and aborts a response whose body grows past the
 * budget. isomorphic-git buffers a whole packfile in memory (twice: its
 * `collect` and a `Buffer.from` copy of that), so a body is only handed on
 * once it is known to fit; and it inflates every object whole, so a pack
 * holding an object over half the budget (inflated) is refused too (see
 * pack-scan.ts). The body is kept as the chunks it arrived in and handed on
 * as they are: no copy of it is made here.
 */
import nodeHttp from "node:http";
import nodeHttps from "node:https";
import http from "isomorphic-git/http/node";
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git/http/node";
import { SourceError } from "./errors.js";
import { oversizedObject, packOfResponse } from "./pack-scan.js";

/** The default cap on the bytes one fetch may download (`--max-fetch-bytes`). */
export const DEFAULT_MAX_FETCH_BYTES = 64 * 1024 * 1024;

/** A response that sends nothing for this long is aborted. */
const IDLE_MS = 60_000;

const EMPTY = new Uint8Array(0);

/** The first object of a fetched pack over `maxBytes` inflated (its copy of the pack is dropped on return). */
function oversized(chunks: readonly Uint8Array[], maxBytes: number): { size: number } | undefined {
  const pack = packOfResponse(chunks);
  return pack && oversizedObject(pack, maxBytes);
}

/** Requests made and response bytes received, updated as they stream. */
export interface HttpTraffic {
  requests: number;
  bytes: number;
}

/** Largest object (inflated) a fetched pack may hold: half the fetch budget, 32 MiB by default. */
export function maxObjectBytesFor(maxFetchBytes: number): number {
  return Math.floor(maxFetchBytes / 2);
}

/** The error a pack holding an object over the limit ends with (`SOURCE_TOO_LARGE`). */
export function objectTooLarge(what: string, size: number, maxFetchBytes: number): SourceError {
  return new SourceError(
    "SOURCE_TOO_LARGE",
    `${what}: the fetched pack holds an object of ${size} bytes inflated, over the ${maxObjectBytesFor(maxFetchBytes)} bytes accepted (half of --max-fetch-bytes); refused`,
  );
}

/** The error a response over the budget ends with (`SOURCE_TOO_LARGE`). */
export function fetchTooLarge(what: string, maxBytes: number): SourceError {
  return new SourceError(
    "SOURCE_TOO_LARGE",
    `${what}: the server sent more than ${maxBytes} bytes (--max-fetch-bytes); refused`,
  );
}

/**
 * A client that counts into `traffic` and, once one response body passes
 * `maxBytes`, destroys the connection and makes the body throw the error
 * `tooLarge()` returns. The error is also kept in `state.error` because
 * isomorphic-git may wrap or swallow errors of the body stream.
 */
export function boundedHttp(
  traffic: HttpTraffic,
  maxBytes: number,
  tooLarge: () => Error,
  state: { error?: Error } = {},
  objectTooLarge: (size: number) => Error = tooLarge,
): HttpClient {
  const maxObjectBytes = maxObjectBytesFor(maxBytes);
  // Node's global agent gives up on a socket idle for 5 s, which a server packing a big repository easily
  // is; a kept-alive socket the server has closed meanwhile fails the next request (ECONNRESET). So: one
  // connection per request, and an idle limit of our own.
  const agents = { http: new nodeHttp.Agent({ keepAlive: false }), https: new nodeHttps.Agent({ keepAlive: false }) };
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      traffic.requests++;
      const abort = new AbortController();
      let idle: NodeJS.Timeout | undefined;
      const stall = () => {
        clearTimeout(idle);
        idle = setTimeout(
          () =>
            abort.abort(
              new SourceError(
                "SOURCE_FETCH",
                `${req.url.replace(/\/\/[^@/]*@/, "//")}: no data for ${IDLE_MS / 1000} s`,
              ),
            ),
          IDLE_MS,
        );
        idle.unref();
      };
      stall();
      const agent = req.url.startsWith("https:") ? agents.https : agents.http;
      let res: GitHttpResponse;
      try {
        res = await http.request({ ...req, agent, signal: abort.signal } as GitHttpRequest);
      } catch (err) {
        clearTimeout(idle);
        throw err;
      }
      const body = res.body;
      if (!body) {
        clearTimeout(idle);
        return res;
      }
      let seen = 0;
      // The whole body is received before isomorphic-git sees any of it: a body over the budget is
      // dropped having cost only itself (isomorphic-git's own buffering of a pack costs twice its
      // size), and an accepted one is handed on chunk by chunk, each released as it goes.
      async function* counted(): AsyncGenerator<Uint8Array> {
        let parts: Uint8Array[] = [];
        try {
          for await (const chunk of body!) {
            stall();
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
        } finally {
          clearTimeout(idle);
        }
        const big = req.method === "POST" && req.url.endsWith("git-upload-pack") && oversized(parts, maxObjectBytes);
        if (big) {
          parts = [];
          state.error = objectTooLarge(big.size);
          throw state.error;
        }
        for (let i = 0; i < parts.length; i++) {
          const chunk = parts[i]!;
          parts[i] = EMPTY;
          yield chunk;
        }
      }
      return { ...res, body: counted() as AsyncIterableIterator<Uint8Array> };
    },
  };
}
