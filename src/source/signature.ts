/**
 * Commit-signature verification with OpenPGP: a commit's `gpgsig` header is a
 * detached signature over the commit object without that header (the
 * `payload` isomorphic-git's readCommit returns). With trusted keys
 * configured, an unsigned commit or one signed by another key is refused.
 * openpgp (~7 MiB once loaded) is imported on first use, i.e. only when
 * trusted keys are configured.
 */
import type { PublicKey, Signature } from "openpgp";
import { SourceError } from "./errors.js";

/** Trusted public keys, parsed once. */
export interface TrustedKeys {
  keys: PublicKey[];
  /** Fingerprints (upper-case hex) of the trusted keys, for messages. */
  fingerprints: string[];
}

/** Parses armored public keys (one or several per text). Throws SOURCE_CONFIG when none parse. */
export async function readTrustedKeys(armored: string[]): Promise<TrustedKeys> {
  const openpgp = await import("openpgp");
  const keys: PublicKey[] = [];
  for (const text of armored) {
    try {
      for (const k of await openpgp.readKeys({ armoredKeys: text })) keys.push(k.toPublic());
    } catch (err) {
      throw new SourceError(
        "SOURCE_CONFIG",
        `trusted key: cannot parse: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  if (!keys.length) throw new SourceError("SOURCE_CONFIG", "trusted keys: none given");
  return { keys, fingerprints: keys.map((k) => k.getFingerprint().toUpperCase()) };
}

/**
 * Verifies a commit signature; resolves to the signing key id (hex) or
 * throws SOURCE_SIGNATURE naming the commit.
 */
export async function verifyCommitSignature(
  commitId: string,
  gpgsig: string | undefined,
  payload: string,
  trusted: TrustedKeys,
): Promise<string> {
  if (!gpgsig)
    throw new SourceError("SOURCE_SIGNATURE", `commit ${commitId}: not signed; trusted keys are configured`, commitId);
  const openpgp = await import("openpgp");
  let signature: Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: gpgsig });
  } catch {
    throw new SourceError("SOURCE_SIGNATURE", `commit ${commitId}: signature is not an OpenPGP signature`, commitId);
  }
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(payload) });
  const result = await openpgp.verify({ message, signature, verificationKeys: trusted.keys, format: "binary" });
  for (const s of result.signatures) {
    try {
      await s.verified;
      return s.keyID.toHex();
    } catch {
      // try the next signature
    }
  }
  const ids = result.signatures.map((s) => s.keyID.toHex()).join(", ");
  throw new SourceError(
    "SOURCE_SIGNATURE",
    `commit ${commitId}: signed by ${ids || "an unknown key"}, which is not a trusted key`,
    commitId,
  );
}
