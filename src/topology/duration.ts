/** Go-style durations (`168h`, `30m`, `1h30m`, `1.5h`, `500ms`) as used by `credentials.ttl`. */

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
const WHOLE = /^([0-9]+(?:\.[0-9]+)?(?:h|ms|m|s|us|µs|ns))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|µs|ns)/g;

/** Parses a Go duration into whole seconds (rounded up); undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text.length > 64 || !WHOLE.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * (UNIT_SECONDS[m[2] ?? ""] ?? 0);
  if (!Number.isFinite(total)) return undefined;
  return Math.ceil(total - 1e-9);
}

/** Formats seconds as a Go duration (`90061` → `25h1m1s`). */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s || (!h && !m) ? `${s}s` : ""}`;
}
