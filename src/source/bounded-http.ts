/**
 * isomorphic-git's node HTTP client with a byte budget: it counts requests
 * and response body bytes, and aborts a response whose body grows past the
 * budget (isomorphic-git buffers a whole packfile in memory, so the only way
 * to bound a fetch's memory is to stop reading the response).
 */
import http from "isomorphic-git/http/node";
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git/http/node";
import { SourceError } from "./errors.js";

/** The default cap on the bytes one fetch may download (`--max-fetch-bytes`). */
export const DEFAULT_MAX_FETCH_BYTES = 64 * 1024 * 1024;

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
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      traffic.requests++;
      const res = await http.request(req);
      const body = res.body;
      if (!body) return res;
      let seen = 0;
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const chunk of body!) {
          seen += chunk.byteLength;
          traffic.bytes += chunk.byteLength;
          if (seen > maxBytes) {
            state.error = tooLarge();
            // stop the download: returning the source iterator closes the socket
            await body!.return?.();
            throw state.error;
          }
          yield chunk;
        }
      }
      return { ...res, body: counted() as AsyncIterableIterator<Uint8Array> };
    },
  };
}
