/** Rules on links: endpoints resolve, no self links, no duplicates, sensible credentials. */
import { formatDuration } from "../duration.js";
import { checkClusterRef, type Rule } from "./context.js";

/** Minimum `expirationSeconds` the Kubernetes TokenRequest API accepts. */
export const MIN_TOKEN_TTL_SECONDS = 600;

/** Reports unresolved, self, duplicate links and credentials settings that cannot work. */
export const linkRules: Rule = (ctx) => {
  const seen = new Map<string, number>();
  for (const l of ctx.draft.links) {
    const base = `/spec/links/${l.index}`;
    const fromOk = checkClusterRef(ctx, l.from, `${base}/from`, "link source");
    const toOk = checkClusterRef(ctx, l.to, `${base}/to`, "link target");
    if (l.from !== undefined && l.from === l.to) {
      ctx.report(
        "XL203",
        `${base}/to`,
        `link from \`${l.from}\` to itself`,
        "a cluster sees its own services already; link it to a different cluster",
      );
    } else if (fromOk && toOk) {
      const key = `${l.from}\u0000${l.to}`;
      const first = seen.get(key);
      if (first !== undefined)
        ctx.report(
          "XL204",
          base,
          `link from \`${l.from}\` to \`${l.to}\` is declared twice (first as spec.links[${first}])`,
          "remove one of the two entries",
        );
      else seen.set(key, l.index);
    }
    if (l.ttlGiven && l.ttlSeconds !== undefined) {
      const ttlPtr = `${base}/credentials/ttl`;
      if (l.mode === "service-account-token") {
        ctx.report(
          "XL214",
          ttlPtr,
          "credentials ttl has no effect with mode service-account-token (its token never expires)",
          "remove ttl, or use mode: token-request for bounded, rotated credentials",
          "warning",
        );
      } else if (l.ttlSeconds < MIN_TOKEN_TTL_SECONDS) {
        ctx.report(
          "XL213",
          ttlPtr,
          `credentials ttl ${formatDuration(l.ttlSeconds)} is shorter than the 10m Kubernetes allows for a token request`,
          "use at least 10m; 24h (the default) or 168h are typical",
        );
      }
    }
  }
};
