/** Just enough DER to read a certificate's signature algorithm, which node:crypto does not expose on Node 20. */

const SIG_NAMES: Record<string, string> = {
  "1.2.840.10045.4.3.2": "ECDSAWithSHA256",
  "1.2.840.10045.4.3.3": "ECDSAWithSHA384",
  "1.2.840.10045.4.3.4": "ECDSAWithSHA512",
  "1.2.840.10045.4.1": "ECDSAWithSHA1",
  "1.2.840.113549.1.1.11": "SHA256WithRSA",
  "1.2.840.113549.1.1.12": "SHA384WithRSA",
  "1.2.840.113549.1.1.13": "SHA512WithRSA",
  "1.2.840.113549.1.1.5": "SHA1WithRSA",
  "1.2.840.113549.1.1.4": "MD5WithRSA",
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
};

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function tlv(buf: Uint8Array, off: number): Tlv | undefined {
  if (off + 2 > buf.length) return undefined;
  const tag = buf[off] ?? 0;
  let len = buf[off + 1] ?? 0;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] ?? 0);
    start += n;
  }
  const end = start + len;
  return end > buf.length ? undefined : { tag, start, end };
}

function oidString(bytes: Uint8Array): string {
  const parts: number[] = [];
  let v = 0;
  bytes.forEach((b, i) => {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (i === 0 || parts.length === 0)
        parts.push(Math.min(2, Math.floor(v / 40)), v - 40 * Math.min(2, Math.floor(v / 40)));
      else parts.push(v);
      v = 0;
    }
  });
  return parts.join(".");
}

/** The signature algorithm of a DER certificate: a Go-style name (`ECDSAWithSHA256`) or the dotted OID; undefined if unreadable. */
export function signatureAlgorithm(der: Uint8Array): string | undefined {
  const cert = tlv(der, 0);
  if (!cert || cert.tag !== 0x30) return undefined;
  const tbs = tlv(der, cert.start);
  if (!tbs) return undefined;
  const alg = tlv(der, tbs.end);
  if (!alg || alg.tag !== 0x30) return undefined;
  const oid = tlv(der, alg.start);
  if (!oid || oid.tag !== 0x06) return undefined;
  const dotted = oidString(der.subarray(oid.start, oid.end));
  return SIG_NAMES[dotted] ?? dotted;
}
