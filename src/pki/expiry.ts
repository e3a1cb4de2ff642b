/**
 * When the anchors and issuers expire (pure): every certificate of each
 * cluster's bundle and its issuer, named by the topology anchor it is (or
 * `sha256:<16 hex>` when the topology does not declare it), for the daemon's
 * `crosslink_certificate_expiry_timestamp_seconds` and its status warnings.
 */
import { X509Certificate } from "node:crypto";
import type { ClusterFacts } from "../engine/facts.js";
import type { Topology } from "../topology/types.js";
import { ISSUER_SECRET } from "./issuer-secret.js";
import { splitPemBundle } from "./pem.js";
import { EXPIRY_WARNING_DAYS } from "../topology/anchors.js";

/** One certificate's expiry in one cluster. */
export interface CertificateExpiry {
  cluster: string;
  kind: "anchor" | "issuer";
  /** An anchor: the topology anchor's name, else `sha256:<16 hex>`; an issuer: `linkerd-identity-issuer`. */
  name: string;
  /** The topology anchor it is (an anchor) or chains to (an issuer); `sha256:…` / `none` when the topology has none. */
  anchor: string;
  /** SHA-256 fingerprint, hex. */
  fingerprint: string;
  notAfter: Date;
}

/** One PEM certificate parsed by node:crypto, or `undefined` when the block is not a certificate. */
export function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** A certificate's SHA-256 fingerprint, lowercase hex without colons. */
export function certificateFingerprint(c: X509Certificate): string {
  return c.fingerprint256.replaceAll(":", "").toLowerCase();
}

/** Every anchor in a cluster's bundle (linkerd-config and trust roots, once each) and its issuer. */
export function certificateExpiries(topology: Topology, facts: Iterable<ClusterFacts>): CertificateExpiry[] {
  const names = new Map<string, string>();
  for (const a of topology.trustAnchors) for (const fp of a.fingerprints) names.set(fp, a.name);
  const out: CertificateExpiry[] = [];
  for (const f of facts) {
    const seen = new Set<string>();
    for (const block of [...splitPemBundle(f.linkerd?.anchorsPem ?? ""), ...splitPemBundle(f.trustRoots?.pem ?? "")]) {
      const c = parseCertificate(block);
      if (!c || seen.has(certificateFingerprint(c))) continue;
      seen.add(certificateFingerprint(c));
      const fp = certificateFingerprint(c);
      const name = names.get(fp) ?? `sha256:${fp.slice(0, 16)}`;
      out.push({
        cluster: f.cluster,
        kind: "anchor",
        name,
        anchor: name,
        fingerprint: fp,
        notAfter: new Date(c.validTo),
      });
    }
    const issuer = f.issuerCertPem ? parseCertificate(splitPemBundle(f.issuerCertPem)[0] ?? "") : undefined;
    if (issuer) {
      const anchor = topology.trustAnchors.find((a) =>
        splitPemBundle(a.pem).some((b) => {
          const ca = parseCertificate(b);
          return ca !== undefined && issuer.checkIssued(ca) && issuer.verify(ca.publicKey);
        }),
      );
      const fp = certificateFingerprint(issuer);
      out.push({
        cluster: f.cluster,
        kind: "issuer",
        name: ISSUER_SECRET,
        anchor: anchor?.name ?? "none",
        fingerprint: fp,
        notAfter: new Date(issuer.validTo),
      });
    }
  }
  return out;
}

/** Whether a certificate expires within Linkerd's warning threshold (60 days) of `now`. */
export function expiresSoon(e: CertificateExpiry, now: Date): boolean {
  return e.notAfter.getTime() - now.getTime() < EXPIRY_WARNING_DAYS * 86_400_000;
}
