/**
 * Webhook verification for `POST /hooks/git`: GitHub (`X-Hub-Signature-256`,
 * HMAC-SHA256 of the body), GitLab (`X-Gitlab-Token`, the shared secret) and a
 * generic HMAC-signed push (`X-Crosslink-Signature: sha256=<hex>`). Pure:
 * takes headers and body, returns a verdict; comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The verdict on one webhook request. */
export type WebhookVerdict =
  | { ok: true; provider: "github" | "gitlab" | "generic"; ref?: string; event: string; after?: string }
  | { ok: false; status: number; reason: string };

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
    if (!hmacOk(secret, body, header(headers, "x-hub-signature-256"))) return { ok: false, status: 401, reason: "bad GitHub signature" };
  } else if (header(headers, "x-gitlab-token") !== undefined) {
    provider = "gitlab";
    event = header(headers, "x-gitlab-event") ?? "Push Hook";
    if (!safeEqual(secret, header(headers, "x-gitlab-token") ?? "")) return { ok: false, status: 401, reason: "bad GitLab token" };
  } else if (header(headers, "x-crosslink-signature") !== undefined) {
    provider = "generic";
    event = "push";
    if (!hmacOk(secret, body, header(headers, "x-crosslink-signature"))) return { ok: false, status: 401, reason: "bad signature" };
  } else {
    return { ok: false, status: 401, reason: "no signature header" };
  }
  if (provider === "github" && event === "ping") return { ok: true, provider, event };
  let payload: { ref?: unknown; after?: unknown } = {};
  try {
    payload = body.length ? (JSON.parse(body.toString("utf8")) as typeof payload) : {};
  } catch {
    return { ok: false, status: 400, reason: "body is not JSON" };
  }
  return {
    ok: true,
    provider,
    event,
    ...(typeof payload.ref === "string" ? { ref: payload.ref } : {}),
    ...(typeof payload.after === "string" ? { after: payload.after } : {}),
  };
}

/** Whether a pushed ref concerns what the daemon follows (no ref in the payload: assume yes). */
export function refMatches(pushed: string | undefined, follows: { branch?: string; tag?: string }): boolean {
  if (!pushed) return true;
  if (follows.branch) return pushed === `refs/heads/${follows.branch}` || pushed === follows.branch;
  if (follows.tag) return pushed === `refs/tags/${follows.tag}` || pushed === follows.tag;
  return true;
}
