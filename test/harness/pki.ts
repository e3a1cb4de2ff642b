// Linkerd-style identity PKI for the harness: a trust anchor (like
// `step certificate create root.linkerd.cluster.local ca.crt ca.key --profile
// root-ca --no-password --insecure`) and an issuer signed by it (like `step
// certificate create identity.linkerd.cluster.local issuer.crt issuer.key
// --profile intermediate-ca --not-after 8760h --ca ca.crt --ca-key ca.key`):
// crosslink's own src/pki/x509.ts with lifetimes in days.
import { createAnchor, createIssuer as issue, type CertKeyPair } from "../../src/pki/x509.js"; // first: it loads the Reflect polyfill
import * as x509 from "@peculiar/x509";

export type { CertKeyPair } from "../../src/pki/x509.js";

const DAY = 24 * 3600 * 1000;

export interface CaOptions {
  /** Subject common name. */
  commonName?: string;
  /** Validity start (default: now minus 1 minute, for clock skew). */
  notBefore?: Date;
  /** Validity in days (anchor default 3650, issuer default 365). */
  days?: number;
}

function validity(opts: CaOptions, days: number) {
  return {
    lifetimeMs: (opts.days ?? days) * DAY,
    ...(opts.notBefore ? { notBefore: opts.notBefore } : {}),
    ...(opts.commonName ? { commonName: opts.commonName } : {}),
  };
}

/** Creates a self-signed ECDSA P-256 root CA, CN root.linkerd.cluster.local by default, 10 years. */
export function createTrustAnchor(opts: CaOptions = {}): Promise<CertKeyPair> {
  return createAnchor(validity(opts, 3650));
}

/**
 * Creates an intermediate CA signed by `anchor`: CN identity.linkerd.cluster.local
 * by default, isCA (pathLen 0), 1 year (never past the anchor) — what Linkerd's identity issuer needs.
 */
export function createIssuer(anchor: CertKeyPair, opts: CaOptions = {}): Promise<CertKeyPair> {
  return issue(anchor, validity(opts, 365));
}

/** True when `certPem` is signed by `caPem` (signature check only). */
export async function isSignedBy(certPem: string, caPem: string): Promise<boolean> {
  const cert = new x509.X509Certificate(certPem);
  const ca = new x509.X509Certificate(caPem);
  return cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
}
