/**
 * Trust checks (pure): per cluster, a readable bundle whose anchors are valid
 * for more than `certWarnDays`, the same anchors in `linkerd-config` and
 * `linkerd-identity-trust-roots`, and an issuer that chains to the bundle and
 * is not close to expiry; per link, identical bundles on both ends (what
 * `linkerd multicluster check` demands).
 */
import type { ClusterFacts } from "../engine/facts.js";
import { bundleFingerprints, chainsTo, sameCertificates } from "../pki/pem.js";
import type { Link } from "../topology/types.js";
import { bundleValidity, daysLeft, describeCert, validAt, type CertValidity } from "./cert-validity.js";
import { ok, problem, type CheckOptions, type CheckResult } from "./types.js";

/** The bundle a cluster's proxies trust: `linkerd-identity-trust-roots`, else `linkerd-config`'s anchors. */
export function clusterBundle(f: ClusterFacts): string | undefined {
  const pem = f.trustRoots?.pem || f.linkerd?.anchorsPem;
  return pem && bundleFingerprints(pem).length ? pem : undefined;
}

/** The trust checks of one reachable cluster. */
export function clusterTrustChecks(category: string, f: ClusterFacts, now: Date, opts: CheckOptions): CheckResult[] {
  const bundle = clusterBundle(f);
  if (!bundle) {
    return [
      problem(
        category,
        "trust bundle is readable",
        "XL941",
        "neither linkerd-identity-trust-roots (ca-bundle.crt) nor linkerd-config (identityTrustAnchorsPEM) holds a certificate",
        "install Linkerd's control plane, or fix the cluster's linkerdNamespace in the topology",
      ),
    ];
  }
  const out: CheckResult[] = [];
  if (f.linkerd?.anchorsPem && f.trustRoots?.pem) {
    const a = bundleFingerprints(f.linkerd.anchorsPem);
    const b = bundleFingerprints(f.trustRoots.pem);
    out.push(
      sameCertificates(a, b)
        ? ok(category, "linkerd-config and linkerd-identity-trust-roots hold the same anchors")
        : problem(
            category,
            "linkerd-config and linkerd-identity-trust-roots hold the same anchors",
            "XL948",
            `linkerd-config names ${a.length} anchor(s), linkerd-identity-trust-roots ${b.length}, not the same set`,
            "write the same bundle to both (spec.manageTrust: true lets crosslink do it)",
          ),
    );
  }
  out.push(anchorCheck(category, bundleValidity(bundle).certs, now, opts));
  out.push(...issuerChecks(category, f.issuerCertPem, bundle, now, opts));
  return out;
}

function anchorCheck(category: string, certs: CertValidity[], now: Date, opts: CheckOptions): CheckResult {
  const title = `trust anchors are valid for more than ${opts.certWarnDays} days`;
  const invalid = certs.filter((c) => !validAt(c, now));
  if (invalid.length) {
    return problem(
      category,
      title,
      "XL944",
      invalid
        .map((c) => `${describeCert(c)}: valid ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()}`)
        .join("\n"),
      "rotate the trust anchor (add the new one to every cluster's bundle first)",
    );
  }
  const soon = certs.filter((c) => daysLeft(c, now) < opts.certWarnDays);
  if (soon.length) {
    return problem(
      category,
      title,
      "XL943",
      soon.map((c) => `${describeCert(c)}: ${daysLeft(c, now)} day(s) left`).join("\n"),
      "plan the anchor's rotation: add the new anchor to every linked cluster's bundle, then re-issue the issuers",
    );
  }
  const first = Math.min(...certs.map((c) => daysLeft(c, now)));
  return ok(category, title, `${certs.length} anchor(s); the first expires in ${first} days`);
}

function issuerChecks(
  category: string,
  issuerPem: string | undefined,
  bundle: string,
  now: Date,
  opts: CheckOptions,
): CheckResult[] {
  const chainTitle = "identity issuer chains to a trust anchor";
  const hint = "issue linkerd-identity-issuer from one of the cluster's anchors (crt.pem / tls.crt)";
  const issuer = issuerPem ? bundleValidity(issuerPem).certs[0] : undefined;
  if (!issuerPem || !issuer)
    return [
      problem(
        category,
        chainTitle,
        "XL945",
        "no readable certificate in Secret linkerd-identity-issuer (crt.pem or tls.crt)",
        hint,
      ),
    ];
  const out: CheckResult[] = [
    chainsTo(issuerPem, bundle)
      ? ok(category, chainTitle, describeCert(issuer))
      : problem(
          category,
          chainTitle,
          "XL945",
          `${describeCert(issuer)} is not signed by any of the bundle's ${bundleFingerprints(bundle).length} anchor(s)`,
          hint,
        ),
  ];
  const title = `identity issuer is valid for more than ${opts.certWarnDays} days`;
  const left = daysLeft(issuer, now);
  if (!validAt(issuer, now))
    out.push(
      problem(
        category,
        title,
        "XL947",
        `${describeCert(issuer)}: valid ${issuer.notBefore.toISOString()} to ${issuer.notAfter.toISOString()}`,
        "issue a new identity issuer certificate and restart the identity controller",
      ),
    );
  else if (left < opts.certWarnDays)
    out.push(
      problem(
        category,
        title,
        "XL946",
        `${describeCert(issuer)}: ${left} day(s) left`,
        "rotate the issuer (cert-manager renews it on its own; otherwise issue a new one)",
      ),
    );
  else out.push(ok(category, title, `${left} days left`));
  return out;
}

/** Whether a link's two clusters trust the same anchors (both bundles, as `linkerd multicluster check` compares them). */
export function linkTrustCheck(category: string, link: Link, from: ClusterFacts, to: ClusterFacts): CheckResult {
  const title = `${link.from} and ${link.to} hold identical trust bundles`;
  const a = clusterBundle(from);
  const b = clusterBundle(to);
  if (!a || !b) return problem(category, title, "XL942", `no readable bundle in ${!a ? link.from : link.to}`);
  const fa = bundleFingerprints(a);
  const fb = bundleFingerprints(b);
  const configA = bundleFingerprints(from.linkerd?.anchorsPem ?? "");
  const configB = bundleFingerprints(to.linkerd?.anchorsPem ?? "");
  if (sameCertificates(fa, fb) && sameCertificates(configA, configB))
    return ok(category, title, `${fa.length} anchor(s)`);
  const only = (x: string[], y: string[]) => [...new Set(x)].filter((f) => !y.includes(f)).map((f) => f.slice(0, 16));
  const lines = [`${link.from} trusts ${new Set(fa).size} anchor(s), ${link.to} ${new Set(fb).size}`];
  const onlyA = only(fa, fb);
  const onlyB = only(fb, fa);
  if (onlyA.length) lines.push(`only in ${link.from}: ${onlyA.join(", ")}`);
  if (onlyB.length) lines.push(`only in ${link.to}: ${onlyB.join(", ")}`);
  if (!onlyA.length && !onlyB.length) lines.push("their linkerd-config anchors differ");
  return problem(
    category,
    title,
    "XL942",
    lines.join("\n"),
    "give both clusters the same bundle (spec.manageTrust: true lets crosslink write it); 'clusters share trust anchors' fails otherwise",
  );
}
