/**
 * `crosslink plan --live` against two harness clusters: the object-level plan
 * is appended, and removing the anchor the clusters' issuers chain to fails
 * the plan with XL703 (checked against each observed issuer).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { createTrustAnchor } from "../harness/pki.js";
import { exampleFiles, runCli, tempRepo, type TempRepo } from "./support.js";

let clusters: StartedClusters;
let repo: TempRepo;

before(async () => {
  clusters = await startClusters(["workload1", "workload2"], { log: () => {} });
  repo = await tempRepo();
});

after(async () => {
  await repo?.remove();
  await clusters?.stop();
});

test("--live: object-level plan appended; removing the issuers' anchor fails with XL703", async () => {
  const files = await exampleFiles("podinfo-split");
  const base = await repo.commit({ ...files, "anchors/root.crt": clusters.trustAnchorPem }, "base");
  const next = await createTrustAnchor({ commonName: "next-root" });
  const both = await repo.commit(
    { ...files, "anchors/root.crt": clusters.trustAnchorPem + next.certPem },
    "add next root",
  );
  const args = ["--repo", repo.dir, "--live", "--kubeconfig", clusters.kubeconfigPath];

  const ok = await runCli(["plan", "--base", base, "--head", both, ...args]);
  assert.equal(ok.code, 2, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /\+ trust anchor root added/);
  assert.match(ok.stdout, /Object-level plan \(--live\):/);
  assert.doesNotMatch(ok.stdout, /XL70[346]/);

  const dropped = await repo.commit({ ...files, "anchors/root.crt": next.certPem }, "drop the old root");
  const bad = await runCli(["plan", "--base", both, "--head", dropped, ...args, "-o", "json"]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  const json = JSON.parse(bad.stdout) as {
    findings: { code: string; cluster?: string }[];
    live?: { formatVersion: number };
  };
  assert.deepEqual(json.findings.map((f) => `${f.code} ${f.cluster}`).sort(), ["XL703 workload1", "XL703 workload2"]);
  assert.equal(json.live?.formatVersion, 1);
  assert.doesNotMatch(bad.stdout, /PRIVATE KEY|BEGIN CERTIFICATE/);
});
