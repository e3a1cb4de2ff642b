/**
 * The `linkerd-identity-issuer` Secret as Linkerd's identity controller reads
 * it (pure). Scheme `linkerd.io/tls` (the chart's default): an Opaque Secret
 * with `crt.pem` and `key.pem`, anchors from linkerd-config. Scheme
 * `kubernetes.io/tls` (external CA, cert-manager's layout): type
 * kubernetes.io/tls with `tls.crt`, `tls.key` and `ca.crt` (the signing anchor).
 */
import type { IssuerScheme } from "../engine/facts.js";
import type { KubeObject } from "../kube/object.js";
import type { CertKeyPair } from "./x509.js";

/** Name of the issuer Secret in the Linkerd namespace. */
export const ISSUER_SECRET = "linkerd-identity-issuer";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The issuer Secret for `scheme`, holding `issuer` (signed by `anchorPem`). Holds a private key: never print it. */
export function issuerSecret(
  namespace: string,
  scheme: IssuerScheme,
  issuer: CertKeyPair,
  anchorPem: string,
): KubeObject {
  const metadata = { name: ISSUER_SECRET, namespace, labels: { "linkerd.io/control-plane-component": "identity" } };
  return scheme === "kubernetes.io/tls"
    ? {
        apiVersion: "v1",
        kind: "Secret",
        metadata,
        type: "kubernetes.io/tls",
        data: { "tls.crt": b64(issuer.certPem), "tls.key": b64(issuer.keyPem), "ca.crt": b64(anchorPem) },
      }
    : {
        apiVersion: "v1",
        kind: "Secret",
        metadata,
        type: "Opaque",
        data: { "crt.pem": b64(issuer.certPem), "key.pem": b64(issuer.keyPem) },
      };
}
