/**
 * Abort helpers: a signal that fires at a deadline or when any parent fires,
 * sleeping that ends early on abort, and the text of an abort's reason.
 */
import { setMaxListeners } from "node:events";
import { CrosslinkError } from "../errors.js";

/** The reason a deadline signal aborts with; `data` holds the deadline in ms. */
export class DeadlineError extends CrosslinkError<"DEADLINE"> {
  /** Creates the error; the message names what ran out of time first. */
  constructor(
    readonly ms: number,
    what: string,
  ) {
    super("DEADLINE", `${what}: deadline of ${seconds(ms)} reached`, { data: { ms } });
    this.name = "DeadlineError";
  }
}

/** A signal that aborts when any of `parents` does or, when `ms` is given, after `ms` (with a DeadlineError); `dispose` clears the timer. */
export function scopedSignal(
  parents: readonly (AbortSignal | undefined)[],
  ms?: number,
  what = "operation",
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  // Every request in flight of a cluster listens to its signal: more than the default 10 is normal.
  setMaxListeners(0, controller.signal);
  const live = parents.filter((p): p is AbortSignal => p !== undefined);
  const onAbort = (p: AbortSignal) => () => controller.abort(p.reason);
  const listeners = live.map((p) => {
    const fn = onAbort(p);
    if (p.aborted) controller.abort(p.reason);
    else p.addEventListener("abort", fn, { once: true });
    return [p, fn] as const;
  });
  const timer =
    ms !== undefined && ms > 0 ? setTimeout(() => controller.abort(new DeadlineError(ms, what)), ms) : undefined;
  timer?.unref?.();
  return {
    signal: controller.signal,
    dispose() {
      if (timer) clearTimeout(timer);
      for (const [p, fn] of listeners) p.removeEventListener("abort", fn);
    },
  };
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The error to throw for an aborted signal: its reason when it is an Error. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(abortText(signal));
}

/** Why a signal aborted, as text. */
export function abortText(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r.message;
  return r === undefined ? "aborted" : String(r);
}

/** Milliseconds as seconds with one decimal: `12.3 s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
