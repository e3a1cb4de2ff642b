/** PEM bundles: split into certificates, fingerprint, compare as sets. */
import { X509Certificate } from "node:crypto";

const BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificate blocks of a PEM bundle, in order. */
export function splitPemBundle(pem: string): string[] {
  return pem.match(BLOCK) ?? [];
}

/**
 * Results by input PEM, for the fleet's repeated bundles and issuers: every
 * cluster usually holds the same anchors, and parsing and verifying them once
 * per cluster dominated render at a thousand clusters. Bounded: cleared when full.
 */
class PemMemo<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly limit: number) {}
  get(key: string, compute: () => T): T {
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const value = compute();
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }
}

const fingerprintMemo = new PemMemo<readonly string[]>(512);
const chainMemo = new PemMemo<boolean>(4096);

/** SHA-256 fingerprints (hex, lower case, no colons) of a bundle's certificates; unparsable blocks are skipped. */
export function bundleFingerprints(pem: string): string[] {
  return [...fingerprintMemo.get(pem, () => fingerprintsOf(pem))];
}

function fingerprintsOf(pem: string): string[] {
  const out: string[] = [];
  for (const block of splitPemBundle(pem)) {
    try {
      out.push(new X509Certificate(block).fingerprint256.replaceAll(":", "").toLowerCase());
    } catch {
      // not a certificate: the set simply does not contain it
    }
  }
  return out;
}

/** Whether two fingerprint lists hold exactly the same certificates (order and duplicates ignored). */
export function sameCertificates(a: readonly string[], b: readonly string[]): boolean {
  const sa = [...new Set(a)].sort();
  const sb = [...new Set(b)].sort();
  return sa.length === sb.length && sa.every((v, i) => v === sb[i]);
}

/** Whether `certPem` (its first certificate) is signed by one of the certificates in `anchorsPem`. */
export function chainsTo(certPem: string, anchorsPem: string): boolean {
  return chainMemo.get(`${certPem}\u0000${anchorsPem}`, () => verifyChain(certPem, anchorsPem));
}

function verifyChain(certPem: string, anchorsPem: string): boolean {
  const first = splitPemBundle(certPem)[0];
  if (!first) return false;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(first);
  } catch {
    return false;
  }
  return splitPemBundle(anchorsPem).some((block) => {
    try {
      const anchor = new X509Certificate(block);
      return cert.checkIssued(anchor) && cert.verify(anchor.publicKey);
    } catch {
      return false;
    }
  });
}
