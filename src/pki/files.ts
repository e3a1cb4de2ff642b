/**
 * Where `crosslink certs` may put a private key: a file the user names, created
 * with mode 0600, never overwritten, and never inside a git work tree (the
 * topology repository takes the certificate only).
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { CrosslinkError } from "../errors.js";

/** Codes of key-file problems. */
export type KeyFileCode = "KEY_IN_GIT_TREE" | "KEY_FILE_EXISTS";

/** The git work tree (directory holding `.git`) that `dir` lies in, if any. */
export function gitWorkTreeOf(dir: string): string | undefined {
  let d = path.resolve(dir);
  for (;;) {
    if (existsSync(path.join(d, ".git"))) return d;
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/**
 * Writes a certificate (0644) and its key (0600) into `dir`, refusing a
 * directory inside a git work tree and existing files (exclusive create).
 */
export async function writeCertAndKey(
  dir: string,
  names: { cert: string; key: string },
  pair: { certPem: string; keyPem: string },
): Promise<{ certFile: string; keyFile: string }> {
  const tree = gitWorkTreeOf(dir);
  if (tree)
    throw new CrosslinkError<KeyFileCode>(
      "KEY_IN_GIT_TREE",
      `${dir}: lies in the git work tree ${tree}; a private key is never written there`,
      {
        hint: "write the anchor outside any repository (e.g. --out ~/linkerd-pki) and commit only the .crt into the topology repository",
        data: { dir, tree },
      },
    );
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(dir, names.cert);
  const keyFile = path.join(dir, names.key);
  for (const f of [certFile, keyFile])
    if (existsSync(f))
      throw new CrosslinkError<KeyFileCode>(
        "KEY_FILE_EXISTS",
        `${f}: already exists; crosslink never overwrites a certificate or key`,
        {
          hint: "choose another --out directory, or move the old files away first",
          data: { file: f },
        },
      );
  await writeFile(keyFile, pair.keyPem, { mode: 0o600, flag: "wx" });
  await writeFile(certFile, pair.certPem, { mode: 0o644, flag: "wx" });
  return { certFile, keyFile };
}
