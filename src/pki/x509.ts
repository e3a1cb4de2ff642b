/**
 * Linkerd's identity PKI, made with @peculiar/x509 (WebCrypto from node:crypto):
 * a trust anchor as `step certificate create root.linkerd.cluster.local
 * --profile root-ca --no-password --insecure` makes it, and an identity issuer
 * as `step … identity.linkerd.cluster.local --profile intermediate-ca --ca …`
 * does. ECDSA P-256 signed with SHA-256; private keys as SEC1 `EC PRIVATE KEY`
 * PEM (what step writes and Linkerd reads). Pure apart from key generation:
 * nothing here touches files or the network.
 */
import "reflect-metadata"; // @peculiar/x509 2.x resolves its ASN.1 schemas through tsyringe, which needs a Reflect polyfill
import { createPrivateKey, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { CrosslinkError } from "../errors.js";

x509.cryptoProvider.set(webcrypto as never);

/** A certificate and its private key, both PEM. Never log `keyPem`. */
export interface CertKeyPair {
  certPem: string;
  keyPem: string;
}

/** Validity of a new certificate. */
export interface Validity {
  /** Lifetime in milliseconds. */
  lifetimeMs: number;
  /** Start of validity; default: now minus one minute (clock skew). */
  notBefore?: Date;
  /** Subject common name; defaults per kind. */
  commonName?: string;
}

/** Errors of certificate creation from given material. */
export type PkiErrorCode = "PKI_BAD_ANCHOR" | "PKI_KEY_MISMATCH";

/** Default lifetimes, as Linkerd's docs and step use them. */
export const ANCHOR_LIFETIME_MS = 87_600 * 3_600_000;
/** One year: the issuer lifetime of Linkerd's docs (`--not-after 8760h`). */
export const ISSUER_LIFETIME_MS = 8_760 * 3_600_000;
/** The anchor's subject, as in Linkerd's docs. */
export const ANCHOR_CN = "root.linkerd.cluster.local";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
type CryptoKey = webcrypto.CryptoKey;

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

async function sec1Pem(key: CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })
    .export({ type: "sec1", format: "pem" })
    .toString();
}

/** Imports a PEM private key (SEC1 or PKCS#8) as an ECDSA P-256 signing key. */
async function signingKey(pem: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
      throw new Error(`a ${String(key.asymmetricKeyType)} key`);
    der = key.export({ type: "pkcs8", format: "der" });
  } catch (err) {
    throw new CrosslinkError<PkiErrorCode>("PKI_BAD_ANCHOR", "anchor key: not an ECDSA P-256 private key", {
      hint: "give the key file `certs anchor` (or step) wrote beside the anchor certificate",
      cause: err instanceof Error ? new Error(err.message.split("\n")[0]) : undefined,
    });
  }
  return webcrypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01; // positive, no leading zero byte
  return Buffer.from(b).toString("hex");
}

function window(v: Validity): { notBefore: Date; notAfter: Date } {
  const notBefore = v.notBefore ?? new Date(Date.now() - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + v.lifetimeMs) };
}

const CA_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/** A self-signed root CA (pathlen 1, certSign + cRLSign, critical), CN root.linkerd.cluster.local by default. */
export async function createAnchor(v: Validity): Promise<CertKeyPair> {
  const keys = await keyPair();
  const name = `CN=${v.commonName ?? ANCHOR_CN}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: name,
    ...window(v),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(CA_USAGES, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await sec1Pem(keys.privateKey) };
}

/**
 * An identity issuer signed by `anchor` (its certificate and key PEM): an
 * intermediate CA with pathlen 0, CN identity.linkerd.cluster.local by default,
 * valid no longer than the anchor. Throws PKI_KEY_MISMATCH when the key is not
 * the certificate's.
 */
export async function createIssuer(anchor: CertKeyPair, v: Validity): Promise<CertKeyPair> {
  let ca: x509.X509Certificate;
  try {
    ca = new x509.X509Certificate(anchor.certPem);
  } catch {
    throw new CrosslinkError<PkiErrorCode>("PKI_BAD_ANCHOR", "anchor certificate: not a PEM X.509 certificate");
  }
  const caKey = await signingKey(anchor.keyPem);
  const probe = new Uint8Array([1, 2, 3]);
  const sig = await webcrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, caKey, probe);
  const caPub = await ca.publicKey.export(webcrypto as never);
  if (!(await webcrypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, caPub, sig, probe)))
    throw new CrosslinkError<PkiErrorCode>("PKI_KEY_MISMATCH", "anchor key does not belong to the anchor certificate", {
      hint: "pass the key that was created together with --anchor-cert",
    });
  const keys = await keyPair();
  const w = window(v);
  if (w.notAfter > ca.notAfter) w.notAfter = ca.notAfter;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${v.commonName ?? "identity.linkerd.cluster.local"}`,
    issuer: ca.subject,
    ...w,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_USAGES, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await sec1Pem(keys.privateKey) };
}
