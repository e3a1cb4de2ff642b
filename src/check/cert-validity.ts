/**
 * Certificate validity for `crosslink check`: each certificate of a PEM
 * bundle with its subject and validity window, and the days it has left
 * (parsed by src/pki/expiry's parseCertificate, as `crosslink certs` does;
 * unparsable blocks are reported).
 */
import { certificateFingerprint, parseCertificate } from "../pki/expiry.js";
import { splitPemBundle } from "../pki/pem.js";

/** One certificate's identity and validity window. */
export interface CertValidity {
  subject: string;
  /** SHA-256 fingerprint, hex, first 16 characters (enough to tell certificates apart in messages). */
  shortFingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 86_400_000;

/** Every certificate of a bundle, in order; `unreadable` counts the blocks that are not certificates. */
export function bundleValidity(pem: string): { certs: CertValidity[]; unreadable: number } {
  const certs: CertValidity[] = [];
  let unreadable = 0;
  for (const block of splitPemBundle(pem)) {
    const c = parseCertificate(block);
    if (!c) {
      unreadable++;
      continue;
    }
    certs.push({
      subject: c.subject.replaceAll("\n", ", "),
      shortFingerprint: certificateFingerprint(c).slice(0, 16),
      notBefore: new Date(c.validFrom),
      notAfter: new Date(c.validTo),
    });
  }
  return { certs, unreadable };
}

/** Whole days from `now` to the end of the certificate's validity (negative once expired). */
export function daysLeft(cert: CertValidity, now: Date): number {
  return Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** Whether `now` lies inside the certificate's validity window. */
export function validAt(cert: CertValidity, now: Date): boolean {
  return cert.notBefore.getTime() <= now.getTime() && now.getTime() <= cert.notAfter.getTime();
}

/** `CN=root… (ab12cd34…)`, for messages. */
export function describeCert(cert: CertValidity): string {
  return `${cert.subject} (${cert.shortFingerprint})`;
}
