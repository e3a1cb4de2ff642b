/**
 * Every safety rule fails one plan and passes another, over real git
 * histories (XL701, XL702, XL704, XL641, XL706) or observed issuers (XL703).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createIssuer, createTrustAnchor, type CertKeyPair } from "../harness/pki.js";
import { topologyChanges, safetyFindings } from "../../src/review/index.js";
import { loadTopology } from "../../src/topology/index.js";
import type { Topology } from "../../src/topology/types.js";
import { exampleFiles, exampleText, runCli, tempRepo, type Files, type TempRepo } from "./support.js";

let repo: TempRepo;
let oldRoot: string;
let newRoot: CertKeyPair;

before(async () => {
  repo = await tempRepo();
  newRoot = await createTrustAnchor({ commonName: "root-2027.linkerd.cluster.local" });
  oldRoot = (await exampleFiles("podinfo-split"))["anchors/root.crt"]!;
});

after(() => repo?.remove());

type Doc = Parameters<NonNullable<Parameters<typeof exampleFiles>[2]>>[0];

/** Commits `baseFiles` then `headFiles` and runs plan between them. */
async function plan(baseFiles: Files, headFiles: Files, message = "change", format = "json") {
  const b = await repo.commit(baseFiles, "base");
  const h = await repo.commit(headFiles, message);
  const r = await runCli(["plan", "--repo", repo.dir, "--base", b, "--head", h, "-o", format]);
  const json =
    format === "json"
      ? (JSON.parse(r.stdout) as {
          findings: { code: string; severity: string; message: string; explanation: string }[];
        })
      : undefined;
  return { ...r, findings: json?.findings ?? [] };
}

const codes = (fs: { code: string; severity: string }[]) => fs.map((f) => `${f.severity} ${f.code}`);
const podinfo = (fn?: (d: Doc) => void) => exampleFiles("podinfo-split", "", fn);
const regions = (fn?: (d: Doc) => void) => exampleFiles("three-regions", "", fn);

test("XL701 fails: a removed link is still used by a split", async () => {
  const r = await plan(await podinfo(), await podinfo((d) => d.deleteIn(["spec", "links", 0])));
  assert.equal(r.code, 1);
  assert.deepEqual(codes(r.findings), ["error XL701"]);
  assert.match(
    r.findings[0]!.message,
    /workload1 will stop mirroring podinfo from workload2; the split test\/podinfo in workload1 still sends 50% to it/,
  );
  const human = await runCli(["plan", "--repo", repo.dir, "--base", "HEAD~1"]);
  assert.match(human.stdout, /error XL701: link workload1 → workload2 removed/);
  assert.match(human.stdout, /why: A remote split backend/);
});

test("XL701 passes: the same change also drops the remote backend", async () => {
  const r = await plan(
    await podinfo(),
    await podinfo((d) => {
      d.deleteIn(["spec", "links", 0]);
      d.deleteIn(["spec", "splits", 0, "backends", 1]);
    }),
  );
  assert.equal(r.code, 2, r.stdout);
  assert.deepEqual(r.findings, []);
});

test("XL702 fails: a removed export is still used by a split in another cluster", async () => {
  const r = await plan(await podinfo(), await podinfo((d) => d.deleteIn(["spec", "exports", 0])));
  assert.equal(r.code, 1);
  assert.deepEqual(codes(r.findings), ["error XL702"]);
  assert.match(
    r.findings[0]!.message,
    /export test\/podinfo of workload2 removed: workload1 will stop mirroring podinfo from workload2; the split test\/podinfo in workload1 still sends 50% to it/,
  );
});

test("XL702 passes: the split moves all its weight home in the same change", async () => {
  const r = await plan(
    await podinfo(),
    await podinfo((d) => {
      d.deleteIn(["spec", "exports", 0]);
      d.setIn(["spec", "splits", 0, "backends"], d.createNode([{ service: "podinfo", weight: 100 }]));
    }),
  );
  assert.equal(r.code, 2, r.stdout);
  assert.deepEqual(r.findings, []);
});

test("XL704 fails offline: every base anchor is replaced at once", async () => {
  const r = await plan(await podinfo(), { ...(await podinfo()), "anchors/root.crt": newRoot.certPem });
  assert.equal(r.code, 1, r.stdout);
  assert.deepEqual(codes(r.findings), ["error XL704"]);
  assert.match(r.findings[0]!.message, /no anchor of the base bundle is left/);
});

test("XL704 passes: add the new anchor beside the old (step one of a rotation)", async () => {
  const both = { ...(await podinfo()), "anchors/root.crt": oldRoot + newRoot.certPem };
  const r = await plan(await podinfo(), both);
  assert.equal(r.code, 2, r.stdout);
  assert.deepEqual(r.findings, []);
  const md = await runCli(["plan", "--repo", repo.dir, "--base", "HEAD~1", "-o", "markdown"]);
  assert.match(md.stdout, /trust anchor root added \(sha256 [0-9a-f]{16}…, CN=root-2027/);
  assert.doesNotMatch(md.stdout, /BEGIN CERTIFICATE/);
  // step two offline: some base anchor stays, so the issuers are unchecked (a warning) and the plan passes
  const r2 = await plan(both, { ...(await podinfo()), "anchors/root.crt": newRoot.certPem });
  assert.equal(r2.code, 2, r2.stdout);
  assert.deepEqual(codes(r2.findings), ["warning XL706"]);
});

test("XL641 fails: over half of the links removed without the trailer", async () => {
  const fewer = await regions((d) => {
    for (let i = 0; i < 4; i++) d.deleteIn(["spec", "links", 0]);
  });
  const r = await plan(await regions(), fewer, "prune most links");
  assert.equal(r.code, 1);
  assert.deepEqual(codes(r.findings), ["error XL641"]);
  assert.match(r.findings[0]!.message, /4 of 6 links removed \(67%\)/);
  assert.match(r.findings[0]!.explanation, /crosslink: allow-mass-prune/);
  const exportsGone = await plan(
    await regions(),
    await regions((d) => ["3", "2", "1"].forEach((i) => d.deleteIn(["spec", "exports", Number(i)]))),
  );
  assert.deepEqual(codes(exportsGone.findings), ["error XL641"]);
  assert.match(exportsGone.findings[0]!.message, /3 of 4 exports removed/);
});

test("XL641 passes: the head commit carries `crosslink: allow-mass-prune`, or half is not over half", async () => {
  const fewer = await regions((d) => {
    for (let i = 0; i < 4; i++) d.deleteIn(["spec", "links", 0]);
  });
  const r = await plan(
    await regions(),
    fewer,
    "Retire ap-south links\n\nThey move to the new mesh.\n\nSigned-off-by: A <a@example.com>\ncrosslink: allow-mass-prune\n",
  );
  assert.equal(r.code, 2, r.stdout);
  assert.deepEqual(codes(r.findings), ["info XL641"]);
  const half = await plan(
    await regions(),
    await regions((d) => [0, 0, 0].forEach((i) => d.deleteIn(["spec", "links", i]))),
  );
  assert.equal(half.code, 2);
  assert.deepEqual(half.findings, []);
});

/** podinfo-split with the given anchors inline. */
async function topologyWith(anchors: string[]): Promise<Topology> {
  const text = await exampleText("podinfo-split", (d) =>
    d.setIn(["spec", "trustAnchors"], d.createNode(anchors.map((pem, i) => ({ name: `root-${i}`, pem })))),
  );
  const { topology, diagnostics } = await loadTopology({ file: "multicluster.yaml", text });
  assert.ok(topology, JSON.stringify(diagnostics));
  return topology;
}

test("XL703 (live) fails: an observed issuer still chains only to the removed anchor; passes once rotated", async () => {
  const base = await topologyWith([oldRoot, newRoot.certPem]);
  const head = await topologyWith([newRoot.certPem]);
  const changes = topologyChanges(base, head);
  assert.deepEqual(
    changes.map((c) => c.kind),
    ["trust-anchor-removed"],
  );
  const oldCa = await createTrustAnchor({ commonName: "old" });
  // an issuer under a root that is neither base nor head is not this change's doing
  const stray = await createIssuer(oldCa);
  const rotated = await createIssuer(newRoot);
  const oldIssuerBase = await topologyWith([oldCa.certPem, newRoot.certPem]);
  const failing = safetyFindings(oldIssuerBase, head, topologyChanges(oldIssuerBase, head), {
    massPruneAllowed: false,
    issuers: [
      { cluster: "workload1", issuerCertPem: stray.certPem },
      { cluster: "workload2", issuerCertPem: rotated.certPem },
    ],
  });
  assert.deepEqual(codes(failing), ["error XL703"]);
  assert.match(failing[0]!.message, /the identity issuer of workload1 still chains to it/);
  const passing = safetyFindings(oldIssuerBase, head, topologyChanges(oldIssuerBase, head), {
    massPruneAllowed: false,
    issuers: [
      { cluster: "workload1", issuerCertPem: rotated.certPem },
      { cluster: "workload2", issuerCertPem: rotated.certPem },
    ],
  });
  assert.deepEqual(passing, []);
});
