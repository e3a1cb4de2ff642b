/**
 * `crosslink certs anchor|issuer|status`: the trust lifecycle. `anchor` makes
 * a trust anchor (certificate + key files, the key mode 0600 outside any git
 * work tree); `issuer` reissues clusters' identity issuers from an anchor of
 * the topology, straight into their `linkerd-identity-issuer` Secret, only once
 * every cluster's bundle holds that anchor (rotation stage 1 converged);
 * `status` lists every anchor and issuer with its expiry and the rotation stage.
 * No private key is ever printed.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { CrosslinkError } from "../errors.js";
import { observeAll } from "../engine/observe.js";
import type { ClusterFacts } from "../engine/facts.js";
import { rotationState } from "../engine/render/rotation.js";
import { FIELD_MANAGER } from "../kube/http-client.js";
import { certificateExpiries, expiresSoon } from "../pki/expiry.js";
import { writeCertAndKey } from "../pki/files.js";
import { issuerSecret } from "../pki/issuer-secret.js";
import { bundleFingerprints } from "../pki/pem.js";
import { ANCHOR_LIFETIME_MS, ISSUER_LIFETIME_MS, createAnchor, createIssuer } from "../pki/x509.js";
import { parseDuration } from "../topology/duration.js";
import type { Topology } from "../topology/types.js";
import type { Command, CommandIo } from "./command.js";
import { EXIT, accessOrReport, loadOrReport } from "./common.js";

const HELP = `Usage:
  crosslink certs anchor --out DIR [--lifetime 87600h] [--common-name CN]
      a trust anchor: DIR/ca.crt (commit it, list it in spec.trustAnchors) and DIR/ca.key (mode 0600;
      DIR must lie outside any git work tree)
  crosslink certs issuer --anchor-cert FILE --anchor-key FILE [-f FILE] [--cluster NAME] [--lifetime 8760h]
      reissues each cluster's identity issuer from that anchor into its linkerd-identity-issuer Secret;
      refused until every cluster's bundle holds the anchor (rotation stage 1)
  crosslink certs status [-f FILE] [-o human|json]
      every anchor and issuer with its expiry, and the rotation stage of each cluster
  (issuer and status take --kubeconfig FILE)
`;

const OPTIONS = {
  out: { type: "string" },
  lifetime: { type: "string" },
  "common-name": { type: "string" },
  "anchor-cert": { type: "string" },
  "anchor-key": { type: "string" },
  file: { type: "string", short: "f", default: "multicluster.yaml" },
  cluster: { type: "string", multiple: true },
  kubeconfig: { type: "string" },
  output: { type: "string", short: "o", default: "human" },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

const DAY = 86_400_000;

function lifetimeMs(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const s = parseDuration(text);
  if (!s || s < 3600)
    throw new CrosslinkError("BAD_FLAG", `--lifetime ${text}: not a Go duration of at least 1h`, {
      hint: "e.g. --lifetime 8760h",
    });
  return s * 1000;
}

function describe(pem: string): string {
  const c = new X509Certificate(pem);
  const fp = c.fingerprint256.replaceAll(":", "").toLowerCase();
  return `${c.subject.replace(/\n/g, ", ")}, sha256 ${fp.slice(0, 16)}…, valid until ${new Date(c.validTo).toISOString()}`;
}

async function anchor(v: Values, io: CommandIo): Promise<number> {
  if (!v.out) {
    io.err("certs anchor: --out DIR is required\n");
    return EXIT.error;
  }
  const pair = await createAnchor({
    lifetimeMs: lifetimeMs(v.lifetime, ANCHOR_LIFETIME_MS),
    ...(v["common-name"] ? { commonName: v["common-name"] } : {}),
  });
  const { certFile, keyFile } = await writeCertAndKey(v.out, { cert: "ca.crt", key: "ca.key" }, pair);
  io.out(`${certFile}: trust anchor ${describe(pair.certPem)}\n`);
  io.out(`${keyFile}: its private key (mode 0600); keep it out of the topology repository, commit only ${certFile}\n`);
  return EXIT.ok;
}

/** Why a cluster does not yet allow issuers from `fp` (its bundles lack it), or undefined when it does. */
function notBundled(f: ClusterFacts | undefined, fp: string): string | undefined {
  if (!f?.linkerd) return "not observed (unreachable, or no linkerd-config)";
  if (!bundleFingerprints(f.linkerd.anchorsPem).includes(fp))
    return "linkerd-config's identityTrustAnchorsPEM lacks it";
  if (f.trustRoots && !bundleFingerprints(f.trustRoots.pem).includes(fp))
    return "linkerd-identity-trust-roots lacks it";
  return undefined;
}

async function observe(topology: Topology, v: Values, io: CommandIo) {
  const access = accessOrReport(topology, v.kubeconfig, io);
  const observations = await observeAll(topology, access.clients);
  const facts = new Map<string, ClusterFacts>();
  for (const o of observations) {
    if (o.ok) facts.set(o.cluster, o.facts);
    else io.err(`cluster ${o.cluster}: not observed: ${o.error}\n`);
  }
  return { access, facts };
}

async function issuer(v: Values, io: CommandIo): Promise<number> {
  if (!v["anchor-cert"] || !v["anchor-key"]) {
    io.err("certs issuer: --anchor-cert FILE and --anchor-key FILE are required\n");
    return EXIT.error;
  }
  const topology = await loadOrReport(v.file, io);
  if (!topology) return EXIT.error;
  const certPem = await readFile(v["anchor-cert"], "utf8");
  const keyPem = await readFile(v["anchor-key"], "utf8");
  const fp = bundleFingerprints(certPem)[0];
  const declared = fp ? topology.trustAnchors.find((a) => a.fingerprints.includes(fp)) : undefined;
  if (!fp || !declared) {
    io.err(
      `certs issuer: ${v["anchor-cert"]} is not one of ${v.file}'s spec.trustAnchors; declare it first (role: next) so every cluster trusts it\n`,
    );
    return EXIT.error;
  }
  const unknown = (v.cluster ?? []).filter((c) => !topology.clusters.some((t) => t.name === c));
  if (unknown.length) {
    io.err(`certs issuer: --cluster ${unknown.join(", ")}: not a cluster of ${v.file}\n`);
    return EXIT.error;
  }
  const { access, facts } = await observe(topology, v, io);
  try {
    const waiting = topology.clusters
      .map((c) => ({ cluster: c.name, why: notBundled(facts.get(c.name), fp) }))
      .filter((w) => w.why !== undefined);
    if (waiting.length) {
      io.err(
        `certs issuer: refused (rotation stage 2 before stage 1 converged): an issuer from \`${declared.name}\` is trusted only where the bundle holds it, and these clusters' bundles do not:\n` +
          waiting.map((w) => `  ${w.cluster}: ${w.why}\n`).join("") +
          "  apply the topology (manageTrust: true writes the bundle) and run this again; nothing was written\n",
      );
      return EXIT.error;
    }
    const targets = v.cluster?.length ? v.cluster : topology.clusters.map((c) => c.name);
    const lifetime = lifetimeMs(v.lifetime, ISSUER_LIFETIME_MS);
    let failed = 0;
    for (const name of targets) {
      const cluster = topology.clusters.find((c) => c.name === name)!;
      const f = facts.get(name)!;
      const scheme = f.linkerd!.issuerScheme;
      try {
        const pair = await createIssuer(
          { certPem, keyPem },
          { lifetimeMs: lifetime, commonName: `identity.${cluster.linkerdNamespace}.${f.linkerd!.trustDomain}` },
        );
        await access.clients.get(name)!.apply(issuerSecret(cluster.linkerdNamespace, scheme, pair, certPem), {
          force: true,
          fieldManager: FIELD_MANAGER,
        });
        io.out(
          `${name}: ${cluster.linkerdNamespace}/linkerd-identity-issuer written (scheme ${scheme}): issuer ${describe(pair.certPem)}, chains to \`${declared.name}\`\n`,
        );
      } catch (err) {
        failed++;
        const e = err as { code?: unknown; message?: unknown };
        io.err(`${name}: issuer not written: ${typeof e.code === "string" ? `${e.code}: ` : ""}${String(e.message)}\n`);
      }
    }
    return failed ? EXIT.error : EXIT.ok;
  } finally {
    access.close();
  }
}

async function status(v: Values, io: CommandIo): Promise<number> {
  const topology = await loadOrReport(v.file, io);
  if (!topology) return EXIT.error;
  const { access, facts } = await observe(topology, v, io);
  try {
    const now = new Date();
    const anchors = topology.trustAnchors.map((a) => {
      const c = new X509Certificate(a.pem);
      return { name: a.name, role: a.role, fingerprint: a.fingerprints[0] ?? "", notAfter: new Date(c.validTo) };
    });
    const certs = certificateExpiries(topology, facts.values());
    const rotation = rotationState(topology, facts);
    const soon = [...anchors.map((a) => a.notAfter), ...certs.map((c) => c.notAfter)].some(
      (t) => t.getTime() - now.getTime() < 60 * DAY,
    );
    if (v.output === "json") {
      io.out(
        JSON.stringify(
          {
            anchors: anchors.map((a) => ({ ...a, notAfter: a.notAfter.toISOString() })),
            certificates: certs.map((c) => ({
              ...c,
              notAfter: c.notAfter.toISOString(),
              expiresSoon: expiresSoon(c, now),
            })),
            rotation: rotation && {
              next: rotation.next?.name,
              clusters: rotation.clusters,
              waitingFor: rotation.waitingFor,
              dropAllowed: rotation.dropAllowed,
            },
          },
          null,
          2,
        ) + "\n",
      );
    } else {
      const days = (t: Date) => Math.floor((t.getTime() - now.getTime()) / DAY);
      io.out("topology anchors:\n");
      for (const a of anchors)
        io.out(
          `  ${a.name} (${a.role}) sha256 ${a.fingerprint.slice(0, 16)}…  expires ${a.notAfter.toISOString()} (${days(a.notAfter)} days)\n`,
        );
      for (const c of topology.clusters) {
        io.out(`${c.name}:\n`);
        const rows = certs.filter((x) => x.cluster === c.name);
        if (!facts.has(c.name)) io.out("  not observed\n");
        for (const r of rows) {
          const what = r.kind === "anchor" ? `anchor ${r.name}` : `issuer (chains to ${r.anchor})`;
          io.out(
            `  ${what}  expires ${r.notAfter.toISOString()} (${days(r.notAfter)} days)${expiresSoon(r, now) ? "  WARNING: within 60 days" : ""}\n`,
          );
        }
        const s = rotation?.clusters.find((x) => x.cluster === c.name);
        if (s?.observed) io.out(`  rotation: stage ${s.stage} of 3\n`);
      }
      if (rotation?.waitingFor.length)
        io.out(
          `next rotation stage waits for:\n${rotation.waitingFor.map((w) => `  ${w.cluster}: ${w.why}\n`).join("")}`,
        );
    }
    if (facts.size < topology.clusters.length) return EXIT.error;
    return soon ? EXIT.changes : EXIT.ok;
  } finally {
    access.close();
  }
}

/** The certs command. */
export const certsCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    const sub = positionals[0];
    if (values.help || !sub || positionals.length > 1) {
      io.out(HELP);
      return values.help ? EXIT.ok : EXIT.error;
    }
    try {
      if (sub === "anchor") return await anchor(values, io);
      if (sub === "issuer") return await issuer(values, io);
      if (sub === "status") return await status(values, io);
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown; hint?: unknown };
      io.err(
        `certs ${sub}: ${typeof e.code === "string" ? `${e.code}: ` : ""}${String(e.message)}${typeof e.hint === "string" ? `\n  hint: ${e.hint}` : ""}\n`,
      );
      return EXIT.error;
    }
    io.err(`certs: unknown subcommand ${sub}\n${HELP}`);
    return EXIT.error;
  },
};
