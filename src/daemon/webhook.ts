/**
 * Webhook verification for `POST /hooks/git`: GitHub (`X-Hub-Signature-256`,
 * HMAC-SHA256 of the body), GitLab (`X-Gitlab-Token`, the shared secret) and a
 * generic HMAC-signed push (`X-Crosslink-Signature: sha256=<hex>`). Pure:
 * takes headers and body, returns a verdict; comparisons are constant-time.
 * The body must be a JSON object. Deliveries are recognised by the provider's
 * delivery id, so a redelivery within ten minutes does not reconcile again.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** The verdict on one webhook request. */
export type WebhookVerdict =
  | {
      ok: true;
      provider: "github" | "gitlab" | "generic";
      ref?: string;
      event: string;
      after?: string;
      delivery?: string;
    }
  | { ok: false; status: number; reason: string };

/** Headers that carry a delivery id, by provider (the first present wins). */
export const DELIVERY_HEADERS = [
  "x-github-delivery",
  "x-gitlab-event-uuid",
  "x-gitlab-webhook-uuid",
  "x-crosslink-delivery",
] as const;

/** Headers as Node gives them (lower-case names). */
export type Headers = Record<string, string | string[] | undefined>;

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hmacOk(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (!signature?.startsWith("sha256=")) return false;
  const expected = "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
  return safeEqual(expected, signature.trim());
}

/** Signs a body the way the generic webhook expects (`sha256=<hex>`). */
export function signWebhook(secret: string, body: string | Buffer): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

/** Verifies a webhook request against the shared secret and extracts the pushed ref. */
export function verifyWebhook(secret: string | undefined, headers: Headers, body: Buffer): WebhookVerdict {
  if (!secret) return { ok: false, status: 503, reason: "webhook secret not configured" };
  let provider: "github" | "gitlab" | "generic";
  let event: string;
  if (header(headers, "x-github-event") !== undefined || header(headers, "x-hub-signature-256") !== undefined) {
    provider = "github";
    event = header(headers, "x-github-event") ?? "push";
    if (!hmacOk(secret, body, header(headers, "x-hub-signature-256")))
      return { ok: false, status: 401, reason: "bad GitHub signature" };
  } else if (header(headers, "x-gitlab-token") !== undefined) {
    provider = "gitlab";
    event = header(headers, "x-gitlab-event") ?? "Push Hook";
    if (!safeEqual(secret, header(headers, "x-gitlab-token") ?? ""))
      return { ok: false, status: 401, reason: "bad GitLab token" };
  } else if (header(headers, "x-crosslink-signature") !== undefined) {
    provider = "generic";
    event = "push";
    if (!hmacOk(secret, body, header(headers, "x-crosslink-signature")))
      return { ok: false, status: 401, reason: "bad signature" };
  } else {
    return { ok: false, status: 401, reason: "no signature header" };
  }
  const id = DELIVERY_HEADERS.map((h) => header(headers, h)).find((v) => v !== undefined && v !== "");
  const delivery = id !== undefined ? { delivery: id } : {};
  if (provider === "github" && event === "ping") return { ok: true, provider, event, ...delivery };
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString("utf8"));
  } catch {
    return {
      ok: false,
      status: 400,
      reason: body.length ? "body is not JSON" : "body is empty: a JSON object is required",
    };
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return {
      ok: false,
      status: 400,
      reason: `body is JSON ${payload === null ? "null" : Array.isArray(payload) ? "array" : typeof payload}, not an object`,
    };
  }
  const { ref, after } = payload as { ref?: unknown; after?: unknown };
  return {
    ok: true,
    provider,
    event,
    ...delivery,
    ...(typeof ref === "string" ? { ref } : {}),
    ...(typeof after === "string" ? { after } : {}),
  };
}

/**
 * The delivery ids seen recently, so a redelivered webhook is acknowledged
 * without another reconcile. Memory is bounded: ids are kept as SHA-256
 * digests, at most `capacity` of them, each for `ttlMs`; the oldest go first.
 */
export class DeliveryLog {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    readonly ttlMs = 10 * 60_000,
    readonly capacity = 10_000,
  ) {}

  /** Records a delivery id; returns true when it was already seen within the TTL. */
  seenBefore(id: string): boolean {
    const now = this.now();
    for (const [key, at] of this.seen) {
      if (now - at < this.ttlMs && this.seen.size < this.capacity) break;
      this.seen.delete(key); // insertion order is time order: the oldest is first
    }
    const key = createHash("sha256").update(id).digest("base64");
    const at = this.seen.get(key);
    if (at !== undefined && now - at < this.ttlMs) return true;
    this.seen.delete(key);
    this.seen.set(key, now);
    return false;
  }

  /** How many ids are remembered now. */
  get size(): number {
    return this.seen.size;
  }
}

/** Whether a pushed ref concerns what the daemon follows (no ref in the payload: assume yes). */
export function refMatches(pushed: string | undefined, follows: { branch?: string; tag?: string }): boolean {
  if (!pushed) return true;
  if (follows.branch) return pushed === `refs/heads/${follows.branch}` || pushed === follows.branch;
  if (follows.tag) return pushed === `refs/tags/${follows.tag}` || pushed === follows.tag;
  return true;
}
