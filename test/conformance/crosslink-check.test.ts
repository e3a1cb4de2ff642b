/**
 * `crosslink check` on real harness clusters (east exports, west mirrors) with
 * Linkerd's real service-mirror controller: all green (exit 0) on a healthy
 * topology applied by crosslink, then each broken state built for real and
 * named with its code and exit status — a 600 s token (the API server's
 * minimum TokenRequest lifetime) warns, a token of a deleted ServiceAccount
 * does not authenticate, a deleted credential Secret, a missing mirror because
 * the controller is stopped, an extra anchor in one cluster, an issuer from
 * another anchor — each repaired before the next. A token past its `exp`
 * (a TokenRequest cannot give one without a 10-minute wait) is a real
 * TokenRequest token's claims re-signed with east's sa.key, exp an hour ago;
 * the same claims with a later exp must authenticate first, so the signing is
 * the API server's own.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { test } from "node:test";
import yaml from "js-yaml";
import { applyOnce } from "../engine/support.js";
import { credentialsKubeconfig, summariseKubeconfig } from "../../src/engine/render/credentials.js";
import type { ClusterClient } from "../../src/kube/port.js";
import { loadTopology } from "../../src/topology/index.js";
import type { Topology } from "../../src/topology/types.js";
import { serviceAccountKeyPath } from "../harness/driver.js";
import { createIssuer, createTrustAnchor } from "../harness/pki.js";
import { apiServerKeyId, decodeJwt, selfSubjectReview, signServiceAccountToken } from "../support/sa-token.js";
import { MirrorController } from "./mirror-controller.js";
import { startConformanceEnv, timed, writeEndpoints, type ConformanceEnv } from "./support.js";
import { requireLinkerdTools } from "./tools.js";

const MC = "linkerd-multicluster";
const NS = "emojivoto";

/** The topology: west mirrors east (token TTL 1h), east exports `services`, west splits web-svc across both. */
function topologyYaml(services: string[]): string {
  return `apiVersion: crosslink.dev/v1alpha1
kind: Topology
metadata:
  name: checked
spec:
  trustAnchors:
    - name: root
      file: anchors/root.crt
  clusters:
    - name: east
    - name: west
  links:
    - from: west
      to: east
      credentials:
        mode: token-request
        ttl: 1h
  exports:
    - cluster: east
      namespace: ${NS}
      services: [${services.join(", ")}]
  splits:
    - cluster: west
      namespace: ${NS}
      service: web-svc
      backends:
        - service: web-svc
          weight: 50
        - service: web-svc
          cluster: east
          weight: 50
`;
}

async function writeTopology(env: ConformanceEnv, services: string[]): Promise<Topology> {
  const text = topologyYaml(services);
  await writeFile(env.file, text);
  const { topology, diagnostics } = await loadTopology({ file: env.file, text, readFile: (p) => readFile(p, "utf8") });
  if (!topology) throw new Error(JSON.stringify(diagnostics));
  return topology;
}

interface CheckRun {
  code: number;
  out: string;
  /** `code` of every warning and failure, with the check's error text. */
  problems: { code: string; result: string; error: string; category: string }[];
  checks: number;
  figures: { ms: number; requests: Record<string, { crosslink: number; credentials: number }> };
}

async function check(env: ConformanceEnv): Promise<CheckRun> {
  const r = await env.cli("check", "--output", "json");
  const json = JSON.parse(r.out.slice(r.out.indexOf("{"))) as {
    categories: { categoryName: string; checks: { result: string; code?: string; error?: string }[] }[];
    figures: CheckRun["figures"];
  };
  const problems = json.categories.flatMap((c) =>
    c.checks
      .filter((x) => x.result !== "success")
      .map((x) => ({ code: x.code!, result: x.result, error: x.error ?? "", category: c.categoryName })),
  );
  return {
    code: r.code,
    out: r.out,
    problems,
    checks: json.categories.reduce((n, c) => n + c.checks.length, 0),
    figures: json.figures,
  };
}

const codes = (r: CheckRun) => [...new Set(r.problems.map((p) => p.code))].sort();

/** The kubeconfig of west's credential Secret, decoded. */
async function credentialKubeconfig(west: ClusterClient): Promise<string> {
  const s = await west.get({ apiVersion: "v1", kind: "Secret", namespace: MC, name: "cluster-credentials-east" });
  return Buffer.from(String((s?.data as Record<string, string>).kubeconfig), "base64").toString("utf8");
}

/**
 * Rewrites both of west's credential Secrets holding `token`, with crosslink's field manager (server-side
 * apply of the Secret as it is, data changed): the credential as crosslink would have left it had it issued
 * that token, so its next apply may renew it.
 */
async function writeCredentialToken(west: ClusterClient, token: string): Promise<void> {
  const live = summariseKubeconfig(await credentialKubeconfig(west));
  const text = credentialsKubeconfig(
    { server: live.server!, name: "east", user: live.user!, ...(live.caPem ? { caPem: live.caPem } : {}) },
    token,
  );
  for (const namespace of [MC, "linkerd"]) {
    const s = (await west.get({ apiVersion: "v1", kind: "Secret", namespace, name: "cluster-credentials-east" }))!;
    const { name, labels, annotations } = s.metadata;
    await west.apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
      type: s.type,
      data: { kubeconfig: Buffer.from(text).toString("base64") },
    });
  }
}

/** Sets a cluster's anchors in linkerd-config and linkerd-identity-trust-roots; returns the previous bundle. */
async function setAnchors(client: ClusterClient, pem: (before: string) => string): Promise<string> {
  const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: "linkerd" };
  const config = (await client.get({ ...ref, name: "linkerd-config" }))!;
  const values = yaml.load((config.data as Record<string, string>).values!) as Record<string, unknown>;
  const before = String(values.identityTrustAnchorsPEM);
  values.identityTrustAnchorsPEM = pem(before);
  await client.patch({ ...ref, name: "linkerd-config" }, { data: { values: yaml.dump(values, { lineWidth: -1 }) } });
  await client.patch(
    { ...ref, name: "linkerd-identity-trust-roots" },
    { data: { "ca-bundle.crt": values.identityTrustAnchorsPEM } },
  );
  return before;
}

/** Replaces the issuer certificate (and key) of a cluster; returns the previous Secret data. */
async function setIssuer(client: ClusterClient, data: Record<string, string>): Promise<Record<string, string>> {
  const ref = { apiVersion: "v1", kind: "Secret", namespace: "linkerd", name: "linkerd-identity-issuer" };
  const before = ((await client.get(ref))!.data ?? {}) as Record<string, string>;
  await client.patch(ref, { data });
  return before;
}

test("crosslink check: green on a healthy mesh with Linkerd's controller, and names each broken state", async (t) => {
  const { tools, skip } = await requireLinkerdTools();
  if (!tools) return t.skip(skip);
  const env = await startConformanceEnv();
  const ctl = new MirrorController({ tools, client: env.west, from: "west", to: "east", dir: env.dir });
  const figures: Record<string, unknown> = {};
  const runs: Record<string, { exit: number; codes: string[] }> = {};
  const record = (name: string, r: CheckRun) => {
    runs[name] = { exit: r.code, codes: codes(r) };
    t.diagnostic(`${name}: exit ${r.code}, ${codes(r).join(" ") || "all ✓"}, ${r.checks} checks`);
  };
  const eastObjects = env.objects("east");
  try {
    let topology = await writeTopology(env, ["web-svc"]);
    const applied = await applyOnce(topology, env.acc);
    assert.ok(applied.changes.clusters.every((c) => c.converged));
    await writeEndpoints(env.east, eastObjects, NS, "web-svc", ["10.42.0.11"]);
    await ctl.start();
    await ctl.followRollouts();
    let last: CheckRun | undefined;
    const mirrored = async () => {
      last = await check(env);
      return last.code === 0 && last;
    };
    /** Waits for a green check; on timeout the last report is in the error. */
    const green = async (what: string) => {
      try {
        return (await timed(what, mirrored, 90_000)).value;
      } catch (e) {
        throw new Error(`${(e as Error).message}; last check:\n${last?.out ?? "(none)"}`);
      }
    };

    await t.test("healthy: every check passes (exit 0)", async () => {
      const { value: r, ms } = await timed("check all green", mirrored, 60_000);
      record("healthy", r);
      figures.healthy = { checks: r.checks, ms: r.figures.ms, requests: r.figures.requests, greenAfterMs: ms };
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(r.problems, []);
      const human = await env.cli("check");
      assert.equal(human.code, 0);
      assert.match(human.out, /Status check results are ✓/);
      assert.doesNotMatch(human.out, /^[×‼]/m);
      const token = summariseKubeconfig(await credentialKubeconfig(env.west)).token!;
      assert.ok(!human.out.includes(token) && !r.out.includes(token), "the token never appears in output");
    });

    await t.test("a 600 s token (the API server's minimum TokenRequest lifetime) warns: XL917, exit 2", async () => {
      const short = await env.east.createToken(MC, "linkerd-service-mirror-remote-access-west", 600);
      await writeCredentialToken(env.west, short.token);
      const r = await check(env);
      record("short token", r);
      assert.equal(r.code, 2, r.out);
      assert.deepEqual(codes(r), ["XL917"]);
      assert.match(r.problems[0]!.error, /left of a 1h TTL/);
      assert.ok(!r.out.includes(short.token));
      const renewed = await applyOnce(topology, env.acc); // half the TTL is gone: crosslink renews
      assert.ok(
        renewed.changes.clusters.every((c) => c.converged),
        JSON.stringify(renewed.changes.clusters),
      );
      assert.equal((await green("green again")).code, 0);
    });

    await t.test("a token past its exp, signed with east's own sa.key: XL916, exit 1", async () => {
      const sa = "linkerd-service-mirror-remote-access-west";
      const key = await readFile(serviceAccountKeyPath(env.clusters.clusters.find((c) => c.name === "east")!), "utf8");
      const live = summariseKubeconfig(await credentialKubeconfig(env.west));
      // The claims of a real TokenRequest token for the link's ServiceAccount, copied whole.
      const real = decodeJwt((await env.east.createToken(MC, sa, 600)).token);
      assert.equal(real.header.kid, apiServerKeyId(key), "the API server's kid is the SHA-256 of sa.key's public key");
      const now = Math.floor(Date.now() / 1000);
      figures.resignedFrom = { header: real.header, claims: real.claims };
      // The method is genuine: the copy re-signed with a later exp authenticates as the ServiceAccount...
      const future = signServiceAccountToken(key, { ...real.claims, exp: now + 900 });
      const accepted = await selfSubjectReview(live.server!, live.caPem!, future);
      assert.deepEqual(accepted, { status: 201, username: `system:serviceaccount:${MC}:${sa}` });
      // ...and the same claims with exp an hour ago are refused.
      const expired = signServiceAccountToken(key, {
        ...real.claims,
        iat: now - 7200,
        nbf: now - 7200,
        exp: now - 3600,
      });
      const refused = await selfSubjectReview(live.server!, live.caPem!, expired);
      assert.equal(refused.status, 401);
      figures.resignedReview = { futureExp: accepted.status, pastExp: refused.status };
      await writeCredentialToken(env.west, expired);
      const r = await check(env);
      record("expired token", r);
      assert.equal(r.code, 1, r.out);
      assert.deepEqual(codes(r), ["XL913", "XL916"], r.out); // expired, and so refused with 401
      assert.match(r.problems.find((p) => p.code === "XL913")!.error, /401/);
      assert.match(r.problems.find((p) => p.code === "XL916")!.error, /expired 1h/);
      assert.ok(!r.out.includes(expired));
      const renewed = await applyOnce(topology, env.acc); // past its exp: crosslink issues a new one
      assert.ok(
        renewed.changes.clusters.every((c) => c.converged),
        JSON.stringify(renewed.changes.clusters),
      );
      assert.equal((await green("green again")).code, 0);
    });

    await t.test("a token of a deleted ServiceAccount does not authenticate: XL913, exit 1", async () => {
      const doomed = { apiVersion: "v1", kind: "ServiceAccount", namespace: MC, name: "check-doomed" };
      await env.east.apply({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "check-doomed", namespace: MC },
      });
      const token = await env.east.createToken(MC, "check-doomed", 3600);
      await env.east.delete(doomed);
      await writeCredentialToken(env.west, token.token);
      const r = await timed(
        "401 with the deleted account's token",
        async () => {
          const x = await check(env);
          return codes(x).includes("XL913") && x;
        },
        30_000,
      );
      record("deleted account token", r.value);
      assert.equal(r.value.code, 1, r.value.out);
      assert.deepEqual(codes(r.value), ["XL913"]);
      assert.match(r.value.problems[0]!.error, /401/);
      assert.ok(!r.value.out.includes(token.token));
      // The token is valid by its exp (1h, over half the TTL): crosslink keeps it. The operator re-issues by
      // deleting the Secrets; apply writes new ones.
      for (const namespace of [MC, "linkerd"])
        await env.west.delete({ apiVersion: "v1", kind: "Secret", namespace, name: "cluster-credentials-east" });
      await applyOnce(topology, env.acc);
      assert.equal((await green("green again")).code, 0);
    });

    await t.test("a deleted credential Secret: XL912 names it, exit 1", async () => {
      await env.west.delete({
        apiVersion: "v1",
        kind: "Secret",
        namespace: "linkerd",
        name: "cluster-credentials-east",
      });
      const r = await check(env);
      record("deleted credential Secret", r);
      assert.equal(r.code, 1, r.out);
      assert.deepEqual(codes(r), ["XL912"]);
      assert.match(r.problems[0]!.error, /Secret linkerd\/cluster-credentials-east not found in west/);
      await applyOnce(topology, env.acc);
      assert.equal((await green("green again")).code, 0);
    });

    await t.test("controller stopped, a new export: XL931 names the missing mirror, exit 1", async () => {
      await ctl.stop();
      topology = await writeTopology(env, ["web-svc", "voting-svc"]);
      await applyOnce(topology, env.acc);
      await writeEndpoints(env.east, eastObjects, NS, "voting-svc", ["10.42.0.13"]);
      const r = await check(env);
      record("controller stopped", r);
      assert.equal(r.code, 1, r.out);
      assert.ok(codes(r).includes("XL931"), r.out);
      assert.match(r.problems.find((p) => p.code === "XL931")!.error, /emojivoto\/voting-svc-east/);
      figures.stoppedCodes = codes(r);
      await ctl.start();
      await ctl.followRollouts();
      assert.equal((await green("green again")).code, 0);
    });

    await t.test("an extra anchor in east: XL942 on the link, exit 1", async () => {
      const extra = await createTrustAnchor({ commonName: "extra.example" });
      const before = await setAnchors(env.east, (pem) => `${pem.trim()}\n${extra.certPem}`);
      const r = await check(env);
      record("extra anchor", r);
      assert.equal(r.code, 1, r.out);
      assert.deepEqual(codes(r), ["XL942"]);
      assert.match(r.problems[0]!.error, /only in east/);
      await setAnchors(env.east, () => before);
      assert.equal((await check(env)).code, 0);
    });

    await t.test("east's issuer from another anchor: XL945 names east, exit 1", async () => {
      const other = await createTrustAnchor({ commonName: "other.example" });
      const issuer = await createIssuer(other);
      const b64 = (s: string) => Buffer.from(s).toString("base64");
      const before = await setIssuer(env.east, { "crt.pem": b64(issuer.certPem), "key.pem": b64(issuer.keyPem) });
      const r = await check(env);
      record("issuer from another anchor", r);
      assert.equal(r.code, 1, r.out);
      assert.deepEqual(codes(r), ["XL945"]);
      assert.equal(r.problems[0]!.category, "cluster east");
      await setIssuer(env.east, before);
      const green = await check(env);
      record("healthy again", green);
      assert.equal(green.code, 0, green.out);
      figures.final = { checks: green.checks, ms: green.figures.ms, requests: green.figures.requests };
    });
    t.diagnostic(`figures ${JSON.stringify({ runs, ...figures, controllerStarts: ctl.starts })}`);
  } catch (e) {
    console.error(
      `controller log tail:\n${ctl.history
        .flatMap((p) => p.lines)
        .slice(-30)
        .join("\n")}`,
    );
    throw e;
  } finally {
    await ctl.stop();
    await env.stop();
  }
});
