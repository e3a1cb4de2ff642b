/**
 * Trust anchors: loads each anchor's PEM (inline or through the injected
 * `readFile`) and checks it the way `linkerd check` does: X.509, a CA, within
 * its validity period, ECDSA P-256 or RSA 2048/4096 signed with SHA-256.
 */
import { createHash, X509Certificate } from "node:crypto";
import path from "node:path";
import type { Diagnostic } from "../diagnostics.js";
import { diag } from "./diag.js";
import { signatureAlgorithm } from "./der.js";
import type { Draft } from "./draft.js";
import type { SourceMap } from "./parse.js";
import { isInside } from "../util/read-bounded.js";

/**
 * Reads a file by path; the loader's only file-system port (a git source can
 * supply its own). `maxBytes` is the most the caller accepts: a reader should
 * refuse larger files before reading them. A reader that refuses a path
 * outside its root throws an error with code `EOUTSIDE`.
 */
export type ReadFile = (path: string, opts?: { maxBytes?: number }) => Promise<string | Uint8Array>;

/** Days before expiry at which an anchor draws a warning (Linkerd's `expirationWarningThresholdInDays`). */
export const EXPIRY_WARNING_DAYS = 60;
/** Largest anchor file accepted (a bundle of a few certificates is a few KiB). */
export const MAX_ANCHOR_BYTES = 1024 * 1024;

/** An anchor's loaded PEM, by draft index. */
export interface LoadedAnchor {
  pem: string;
  file?: string;
  fingerprints: string[];
}

/** One problem of a PEM bundle, not yet located. */
export interface PemProblem {
  code: "XL301" | "XL302" | "XL303" | "XL304" | "XL305" | "XL306" | "XL307";
  message: string;
  hint: string;
  severity: "error" | "warning";
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----([\s\S]*?)-----END \1-----/g;
const DAY = 86_400_000;

/** Checks a PEM bundle at time `now`; returns its certificates' SHA-256 fingerprints and its problems. */
export function checkPem(pem: string, now: number): { fingerprints: string[]; problems: PemProblem[] } {
  const problems: PemProblem[] = [];
  const fingerprints: string[] = [];
  const blocks = [...pem.matchAll(BLOCK)];
  const certs = blocks.filter((b) => b[1] === "CERTIFICATE");
  for (const b of blocks) {
    if (b[1]?.includes("PRIVATE KEY")) {
      problems.push({
        code: "XL307",
        message: `holds a ${b[1]} block`,
        hint: "remove the private key from the repository now and rotate it; anchors need only the certificate",
        severity: "error",
      });
    }
  }
  if (certs.length === 0) {
    const other = blocks.map((b) => b[1]).filter((t) => !t?.includes("PRIVATE KEY"));
    problems.push({
      code: "XL301",
      message: other.length
        ? `holds no certificate, only ${other.join(", ")}`
        : "is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)",
      hint: "give the trust anchor's certificate in PEM form, e.g. the ca.crt made by `step certificate create root.linkerd.cluster.local …`",
      severity: "error",
    });
    return { fingerprints, problems };
  }
  certs.forEach((b, i) => {
    const which = certs.length > 1 ? `certificate ${i + 1} of ${certs.length}` : "certificate";
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(b[0]);
    } catch {
      problems.push({
        code: "XL301",
        message: `${which} is not a valid X.509 certificate`,
        hint: "the PEM block is damaged; copy the certificate again",
        severity: "error",
      });
      return;
    }
    fingerprints.push(createHash("sha256").update(cert.raw).digest("hex"));
    const subject = cert.subject.replace(/\n/g, ", ");
    const id = `${which} (${subject || "no subject"})`;
    if (!cert.ca) {
      problems.push({
        code: "XL302",
        message: `${id} is not a CA certificate (basicConstraints CA:FALSE or missing)`,
        hint: "a trust anchor is a root CA; create it with basicConstraints CA:TRUE (step: --profile root-ca)",
        severity: "error",
      });
    }
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    if (Number.isFinite(from) && now < from) {
      problems.push({
        code: "XL304",
        message: `${id} is not valid until ${new Date(from).toISOString()}`,
        hint: "check the clock of the machine that made it, or wait until it becomes valid",
        severity: "error",
      });
    } else if (Number.isFinite(to) && now > to) {
      problems.push({
        code: "XL303",
        message: `${id} expired on ${new Date(to).toISOString()}`,
        hint: "rotate the trust anchor: add the new root beside the old one, roll out, then drop the old one",
        severity: "error",
      });
    } else if (Number.isFinite(to) && to - now < EXPIRY_WARNING_DAYS * DAY) {
      const days = Math.floor((to - now) / DAY);
      problems.push({
        code: "XL306",
        message: `${id} expires in ${days} day${days === 1 ? "" : "s"} (${new Date(to).toISOString()})`,
        hint: "start a trust anchor rotation: add the next root to trustAnchors now",
        severity: "warning",
      });
    }
    const key = cert.publicKey;
    const details = key.asymmetricKeyDetails ?? {};
    const sig = signatureAlgorithm(cert.raw) ?? "unknown";
    let keyDesc: string;
    let keyOk = false;
    let sigOk = false;
    if (key.asymmetricKeyType === "ec") {
      keyDesc = `ECDSA ${details.namedCurve === "prime256v1" ? "P-256" : (details.namedCurve ?? "unknown curve")}`;
      keyOk = details.namedCurve === "prime256v1";
      sigOk = sig === "ECDSAWithSHA256";
    } else if (key.asymmetricKeyType === "rsa") {
      keyDesc = `RSA ${details.modulusLength ?? "?"}`;
      keyOk = details.modulusLength === 2048 || details.modulusLength === 4096;
      sigOk = sig === "SHA256WithRSA";
    } else {
      keyDesc = String(key.asymmetricKeyType ?? "unknown").toUpperCase();
    }
    if (!keyOk || !sigOk) {
      problems.push({
        code: "XL305",
        message: `${id} uses ${keyDesc} signed with ${sig}; Linkerd accepts ECDSA P-256 with ECDSAWithSHA256 or RSA 2048/4096 with SHA256WithRSA`,
        hint: "create the anchor with an ECDSA P-256 key and SHA-256 (step certificate create … --kty EC --crv P-256)",
        severity: "error",
      });
    }
  });
  return { fingerprints, problems };
}

/** Options of anchor loading. */
export interface AnchorOptions {
  file: string;
  baseDir: string;
  /** Directory every anchor file must lie in; default: the file-system or repository root of `baseDir`. */
  root?: string;
  readFile: ReadFile;
  now: number;
}

/** Loads and checks every anchor of the draft; returns the loaded anchors by index and located diagnostics. */
export async function loadAnchors(
  draft: Draft,
  map: SourceMap,
  opts: AnchorOptions,
): Promise<{ anchors: Map<number, LoadedAnchor>; diagnostics: Diagnostic[] }> {
  const anchors = new Map<number, LoadedAnchor>();
  const diagnostics: Diagnostic[] = [];
  const byFingerprint = new Map<string, string>();
  await Promise.all(
    draft.anchors.map(async (a) => {
      if ((a.file === undefined) === (a.pem === undefined)) return; // schema reports it
      const base = `/spec/trustAnchors/${a.index}`;
      const ptr = a.file !== undefined ? `${base}/file` : `${base}/pem`;
      const label = `trust anchor \`${a.name ?? `#${a.index}`}\``;
      let pem: string;
      let resolved: string | undefined;
      if (a.file !== undefined) {
        const root = opts.root ?? (path.isAbsolute(opts.baseDir) ? path.parse(opts.baseDir).root : ".");
        resolved = path.join(opts.baseDir, a.file);
        const outside = path.isAbsolute(a.file) || !isInside(root, resolved);
        if (outside) {
          const why = path.isAbsolute(a.file)
            ? "is an absolute path"
            : `leads out of ${root === "." ? "the repository" : root}`;
          diagnostics.push(
            diag(
              "XL309",
              opts.file,
              map.value(ptr),
              `${label}: file ${a.file} ${why}`,
              "anchor files are read from the topology's own directory tree; give a relative path that stays inside it",
              "error",
              ptr,
            ),
          );
          return;
        }
        try {
          const raw = await opts.readFile(resolved, { maxBytes: MAX_ANCHOR_BYTES });
          const size = typeof raw === "string" ? raw.length : raw.byteLength;
          if (size > MAX_ANCHOR_BYTES) {
            diagnostics.push(
              diag(
                "XL301",
                opts.file,
                map.value(ptr),
                `${label}: file ${a.file} is ${size} bytes, too large to be a certificate bundle`,
                "point `file` at the anchor's PEM certificate",
                "error",
                ptr,
              ),
            );
            return;
          }
          pem =
            typeof raw === "string" ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8");
        } catch (err) {
          const code = (err as { code?: unknown } | null)?.code;
          if (code === "EOUTSIDE") {
            diagnostics.push(
              diag(
                "XL309",
                opts.file,
                map.value(ptr),
                `${label}: file ${a.file} leads out of the topology's root through a symbolic link`,
                "commit the anchor's .crt itself inside the repository, not a link to it",
                "error",
                ptr,
              ),
            );
            return;
          }
          if (code === "EFBIG" || code === "ENOTREG") {
            diagnostics.push(
              diag(
                "XL301",
                opts.file,
                map.value(ptr),
                `${label}: file ${a.file} ${code === "EFBIG" ? `is more than ${MAX_ANCHOR_BYTES} bytes, too large to be a certificate bundle` : "is not a regular file (a device, FIFO or socket)"}`,
                "point `file` at the anchor's PEM certificate",
                "error",
                ptr,
              ),
            );
            return;
          }
          const why =
            code === "ENOENT"
              ? "does not exist"
              : code === "EISDIR"
                ? "is a directory"
                : code === "EACCES"
                  ? "cannot be read (permission denied)"
                  : `cannot be read (${err instanceof Error ? err.message : String(err)})`;
          diagnostics.push(
            diag(
              "XL300",
              opts.file,
              map.value(ptr),
              `${label}: file ${a.file} ${why}`,
              "the path is relative to the topology file's directory; commit the anchor's .crt beside it",
              "error",
              ptr,
            ),
          );
          return;
        }
      } else {
        pem = a.pem ?? "";
      }
      const { fingerprints, problems } = checkPem(pem, opts.now);
      for (const p of problems)
        diagnostics.push(diag(p.code, opts.file, map.value(ptr), `${label}: ${p.message}`, p.hint, p.severity, ptr));
      const loaded: LoadedAnchor = { pem, fingerprints };
      if (resolved !== undefined) loaded.file = resolved;
      anchors.set(a.index, loaded);
    }),
  );
  for (const a of draft.anchors) {
    const l = anchors.get(a.index);
    if (!l) continue;
    for (const fp of l.fingerprints) {
      const first = byFingerprint.get(fp);
      const ptr = `/spec/trustAnchors/${a.index}`;
      if (first !== undefined && first !== (a.name ?? "")) {
        diagnostics.push(
          diag(
            "XL308",
            opts.file,
            map.value(ptr),
            `trust anchor \`${a.name ?? `#${a.index}`}\` repeats a certificate of \`${first}\` (sha256 ${fp.slice(0, 16)}…)`,
            "list each certificate once; `mc check` compares bundles certificate by certificate",
            "warning",
            ptr,
          ),
        );
      } else if (first === undefined) byFingerprint.set(fp, a.name ?? "");
    }
  }
  return { anchors, diagnostics };
}
