// Linkerd-style identity PKI for the harness: a trust anchor (like
// `step certificate create root.linkerd.cluster.local ca.crt ca.key --profile
// root-ca --no-password --insecure`) and an issuer signed by it (like `step
// certificate create identity.linkerd.cluster.local issuer.crt issuer.key
// --profile intermediate-ca --not-after 8760h --ca ca.crt --ca-key ca.key`).
// ECDSA P-256 with SHA-256, keys in SEC1 "EC PRIVATE KEY" PEM as step writes them.
import "reflect-metadata";
import { createPrivateKey, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 3600 * 1000;

/** A certificate and its private key, both PEM. */
export interface CertKeyPair {
  certPem: string;
  keyPem: string;
}

export interface CaOptions {
  /** Subject common name. */
  commonName?: string;
  /** Validity start (default: now minus 1 minute, for clock skew). */
  notBefore?: Date;
  /** Validity in days (anchor default 3650, issuer default 365). */
  days?: number;
}

async function keyPemOf(key: CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })
    .export({ type: "sec1", format: "pem" })
    .toString();
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
  return webcrypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
}

function serial(): string {
  // Positive 16-byte serial.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return Buffer.from(b).toString("hex");
}

/** Creates a self-signed ECDSA P-256 root CA, CN root.linkerd.cluster.local by default, 10 years. */
export async function createTrustAnchor(opts: CaOptions = {}): Promise<CertKeyPair> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
  const name = `CN=${opts.commonName ?? "root.linkerd.cluster.local"}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (opts.days ?? 3650) * DAY),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyPemOf(keys.privateKey) };
}

/**
 * Creates an intermediate CA signed by `anchor`: CN identity.linkerd.cluster.local
 * by default, isCA (pathLen 0), 1 year — what Linkerd's identity issuer needs.
 */
export async function createIssuer(anchor: CertKeyPair, opts: CaOptions = {}): Promise<CertKeyPair> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const ca = new x509.X509Certificate(anchor.certPem);
  const caKey = await importKeyPem(anchor.keyPem);
  const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.commonName ?? "identity.linkerd.cluster.local"}`,
    issuer: ca.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (opts.days ?? 365) * DAY),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyPemOf(keys.privateKey) };
}

/** True when `certPem` is signed by `caPem` (signature check only). */
export async function isSignedBy(certPem: string, caPem: string): Promise<boolean> {
  const cert = new x509.X509Certificate(certPem);
  const ca = new x509.X509Certificate(caPem);
  return cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
}
