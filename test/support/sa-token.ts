/**
 * ServiceAccount tokens signed the way the harness's kube-apiserver signs them
 * (RS256 with the cluster's sa.key, `kid` = base64url SHA-256 of the public
 * key's DER), so a test can have a real token in a state a TokenRequest cannot
 * give, e.g. past its `exp`; and a SelfSubjectReview with a bearer token to prove
 * whether the API server accepts one.
 */
import { createHash, createPrivateKey, createPublicKey, sign } from "node:crypto";
import https from "node:https";

/** A JWT's header and claims, decoded (the signature is not checked). */
export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Decodes a compact JWS's header and payload. */
export function decodeJwt(token: string): DecodedJwt {
  const [h, p] = token.split(".");
  const part = (s: string | undefined) =>
    JSON.parse(Buffer.from(s ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  return { header: part(h), claims: part(p) };
}

/** The `kid` kube-apiserver gives tokens it signs with `keyPem`: base64url(SHA-256(PKIX DER of the public key)). */
export function apiServerKeyId(keyPem: string): string {
  const der = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64url");
}

/** Signs `claims` with RS256 under `keyPem`, header `{alg: RS256, kid}` as the API server writes it. */
export function signServiceAccountToken(keyPem: string, claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${part({ alg: "RS256", kid: apiServerKeyId(keyPem) })}.${part(claims)}`;
  return `${input}.${sign("sha256", Buffer.from(input), createPrivateKey(keyPem)).toString("base64url")}`;
}

/** What a SelfSubjectReview with a bearer token got: the HTTP status and, when authenticated, the username. */
export interface ReviewAnswer {
  status: number;
  username?: string;
}

/** POSTs a SelfSubjectReview to `server` (CA `caPem`) with `token` as the bearer; bounded by 10 s. */
export async function selfSubjectReview(server: string, caPem: string, token: string): Promise<ReviewAnswer> {
  const body = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
  const url = new URL("/apis/authentication.k8s.io/v1/selfsubjectreviews", server);
  return new Promise<ReviewAnswer>((resolve, reject) => {
    const req = https.request(
      url,
      {
        ca: caPem,
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        timeout: 10_000,
      },
      (res) => {
        let out = "";
        res.on("data", (c: Buffer) => (out += c.toString()));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status !== 201) return resolve({ status });
          const r = JSON.parse(out) as { status?: { userInfo?: { username?: string } } };
          resolve({ status, ...(r.status?.userInfo?.username ? { username: r.status.userInfo.username } : {}) });
        });
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("SelfSubjectReview timed out")));
    req.end(body);
  });
}
