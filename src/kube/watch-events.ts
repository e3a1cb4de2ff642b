/**
 * The body of a WATCH response (one JSON event a line), read chunk by chunk
 * whatever the transport (HTTP/1.1 or HTTP/2): events go to the caller, a
 * server's ERROR event or an unreadable line becomes the stream's failure.
 */
import type { KubeObject } from "./object.js";
import type { WatchEvent } from "./port.js";

/** What a watch body reader reports: an event, or the failure that ends the stream. */
export interface WatchLineSink {
  event(event: WatchEvent): void;
  /** The server sent an ERROR event (`status` its Status object) or a line that is not JSON (`status` undefined). */
  error(status: { code?: number } | undefined): void;
}

/**
 * A reader of a watch body: `push` each text chunk; it stops at the first
 * failure (an exception thrown by `event` is passed on to the caller of push).
 */
export function watchLineReader(apiVersion: string, kind: string, sink: WatchLineSink): (chunk: string) => void {
  let buffered = "";
  let failed = false;
  return (chunk) => {
    if (failed) return;
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      let event: { type?: string; object?: KubeObject };
      try {
        event = JSON.parse(line) as { type?: string; object?: KubeObject };
      } catch {
        failed = true;
        return sink.error(undefined);
      }
      if (event.type === "ERROR") {
        failed = true;
        return sink.error(event.object as unknown as { code?: number });
      }
      if (!event.object || !["ADDED", "MODIFIED", "DELETED", "BOOKMARK"].includes(event.type ?? "")) continue;
      try {
        sink.event({ type: event.type as WatchEvent["type"], object: { ...event.object, apiVersion, kind } });
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
}
