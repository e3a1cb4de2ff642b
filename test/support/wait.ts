/**
 * Polling with a bound in time, for tests and benchmarks. It imports nothing,
 * so a process that must not load the test harness (bench/daemon-child.ts)
 * can use it.
 */

/** Waits until `fn` returns a truthy value; bounded in time; polls every `everyMs`; a throw counts as not yet. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T> | T,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
