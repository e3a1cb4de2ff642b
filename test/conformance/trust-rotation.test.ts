/**
 * A trust-anchor rotation through all three stages on three harness clusters
 * (three-regions, every cluster linked to the other two, manageTrust), driven
 * by crosslink's own CLI (`certs anchor`, `certs issuer`, `plan --live`) and
 * the engine, with Linkerd's CLI as the judge: `linkerd multicluster check`'s
 * trust check passes in every cluster at every stage, and `linkerd install
 * --ignore-cluster` accepts every anchor/issuer pair crosslink made (and
 * rejects a pair that does not chain). Skipping a stage is refused (engine
 * XL637, `certs issuer` before stage 1, review XL703). Finally every output,
 * every committed file and the repository itself are scanned for private keys.
 */
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseDocument } from "yaml";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { ROOT, access, applyOnce } from "../engine/support.js";
import { runCli, tempRepo, type Files, type TempRepo } from "../review/support.js";
import { bundleFingerprints, sameCertificates } from "../../src/pki/pem.js";
import { parseLinkerdConfig } from "../../src/engine/observe.js";
import { loadTopologyFile } from "../../src/topology/index.js";
import type { Topology } from "../../src/topology/types.js";
import type { ClusterAccess } from "../../src/kube/access.js";
import { cliVersion, multiclusterCheck, runLinkerd } from "./linkerd-cli.js";
import { requireLinkerdTools, type LinkerdTools } from "./tools.js";

const NAMES = ["us-east", "eu-west", "ap-south"];

let tools: LinkerdTools | undefined;
let skip: string | undefined;
let clusters: StartedClusters;
let repo: TempRepo;
let keys: string;
/** Everything the CLI printed and every plan finding: scanned at the end. */
const outputs: string[] = [];
/** Every file committed to the topology repository. */
const committed: string[] = [];
const opened: ClusterAccess[] = [];
const timings: Record<string, number> = {};

before(async () => {
  ({ tools, skip } = await requireLinkerdTools());
  if (!tools) return;
  const version = await cliVersion(tools);
  clusters = await startClusters(NAMES, { log: () => {}, seed: { linkerdVersion: version } });
  repo = await tempRepo();
  keys = mkdtempSync(path.join(os.tmpdir(), "crosslink-keys-"));
});

after(async () => {
  for (const a of opened) a.close();
  await clusters?.stop();
  await repo?.remove();
  if (keys) rmSync(keys, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const r = await runCli(args);
  outputs.push(r.stdout, r.stderr);
  return r;
}

type AnchorDecl = { name: string; file: string; role?: "next" };

/** The three-regions topology with manageTrust and the given anchors. */
function topologyText(anchors: AnchorDecl[]): string {
  const doc = parseDocument(readFileSync(path.join(ROOT, "examples", "three-regions", "multicluster.yaml"), "utf8"));
  doc.setIn(["spec", "manageTrust"], true);
  doc.setIn(["spec", "trustAnchors"], doc.createNode(anchors));
  return doc.toString();
}

async function commit(anchors: AnchorDecl[], extra: Files, message: string): Promise<string> {
  const files: Files = { "multicluster.yaml": topologyText(anchors), ...extra };
  committed.push(...Object.values(files).filter((v): v is string => v !== null));
  return repo.commit(files, message);
}

async function load(): Promise<Topology> {
  const { topology, diagnostics } = await loadTopologyFile(path.join(repo.dir, "multicluster.yaml"));
  assert.ok(topology, JSON.stringify(diagnostics));
  return topology;
}

async function applyTopology(topology: Topology) {
  const acc = access(topology, clusters.kubeconfigPath);
  opened.push(acc);
  const r = await applyOnce(topology, acc);
  outputs.push(JSON.stringify(r.plan), JSON.stringify(r.changes));
  return { r, acc };
}

function findings(r: Awaited<ReturnType<typeof applyTopology>>["r"], code: string) {
  return r.plan.clusters.flatMap((c) =>
    c.findings.filter((f) => f.code === code).map((f) => ({ cluster: c.cluster, ...f })),
  );
}

/** The fingerprints each cluster's linkerd-config and trust roots hold. */
async function bundles(acc: ClusterAccess): Promise<Map<string, { config: string[]; roots: string[] }>> {
  const out = new Map<string, { config: string[]; roots: string[] }>();
  for (const name of NAMES) {
    const c = acc.clients.get(name)!;
    const cm = await c.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "linkerd", name: "linkerd-config" });
    const roots = await c.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "linkerd",
      name: "linkerd-identity-trust-roots",
    });
    out.set(name, {
      config: bundleFingerprints(parseLinkerdConfig(cm!)!.anchorsPem),
      roots: bundleFingerprints((roots!.data as Record<string, string>)["ca-bundle.crt"]!),
    });
  }
  return out;
}

async function assertBundles(acc: ClusterAccess, wantPem: string, stage: string) {
  const want = bundleFingerprints(wantPem);
  for (const [name, b] of await bundles(acc)) {
    assert.ok(sameCertificates(b.config, want), `${stage}: ${name} linkerd-config holds ${b.config.length} anchors`);
    assert.ok(sameCertificates(b.roots, want), `${stage}: ${name} trust roots hold ${b.roots.length} anchors`);
  }
}

/** `linkerd multicluster check` in every cluster: the trust check passes, and no check about anchors fails. */
async function assertTrustChecks(stage: string) {
  const t0 = performance.now();
  const results = await Promise.all(
    NAMES.map((n) => multiclusterCheck(tools!, { kubeconfig: clusters.kubeconfigPath, context: n })),
  );
  results.forEach((report, i) => {
    const share = report.checks.filter((c) => c.description.startsWith("clusters share trust anchors"));
    assert.ok(
      share.length >= 1,
      `${stage}: ${NAMES[i]}: the trust check did not run: ${report.checks.map((c) => c.description).join(" | ")}`,
    );
    for (const c of share) assert.equal(c.result, "success", `${stage}: ${NAMES[i]}: ${c.error ?? ""}`);
    for (const c of report.checks.filter((c) => /anchor|trust|issuer/i.test(c.description)))
      assert.equal(c.result, "success", `${stage}: ${NAMES[i]}: "${c.description}": ${c.error ?? ""}`);
  });
  timings[`mc check ${stage}`] = Math.round(performance.now() - t0);
}

/** Reads each cluster's issuer Secret into files (0600, removed afterwards) and runs `linkerd install --ignore-cluster`. */
async function installAccepts(acc: ClusterAccess, anchorsPem: string): Promise<number[]> {
  const dir = mkdtempSync(path.join(keys, "install-"));
  try {
    const anchorsFile = path.join(dir, "anchors.crt");
    writeFileSync(anchorsFile, anchorsPem);
    const codes: number[] = [];
    for (const name of NAMES) {
      const s = await acc.clients
        .get(name)!
        .get({ apiVersion: "v1", kind: "Secret", namespace: "linkerd", name: "linkerd-identity-issuer" });
      const data = s!.data as Record<string, string>;
      const crt = path.join(dir, `${name}.crt`);
      const key = path.join(dir, `${name}.key`);
      writeFileSync(crt, Buffer.from(data["crt.pem"]!, "base64"));
      writeFileSync(key, Buffer.from(data["key.pem"]!, "base64"), { mode: 0o600 });
      const run = await runLinkerd(tools!, undefined, [
        "install",
        "--ignore-cluster",
        "--identity-trust-anchors-file",
        anchorsFile,
        "--identity-issuer-certificate-file",
        crt,
        "--identity-issuer-key-file",
        key,
      ]);
      if (run.code !== 0) outputs.push(`linkerd install for ${name} exited ${run.code}: ${run.stderr.split("\n")[0]}`);
      codes.push(run.code);
    }
    return codes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("an anchor rotates through all three stages on three clusters, Linkerd's checks passing at each; skipped stages are refused", async (t) => {
  if (!tools) return t.skip(skip);
  const oldPem = clusters.trustAnchorPem;
  const file = path.join(repo.dir, "multicluster.yaml");
  const kube = ["--kubeconfig", clusters.kubeconfigPath];

  // stage 0: one anchor, applied
  await commit([{ name: "root-old", file: "anchors/old.crt" }], { "anchors/old.crt": oldPem }, "one anchor");
  let { r, acc } = await applyTopology(await load());
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes),
  );
  await assertBundles(acc, oldPem, "stage 0");
  await assertTrustChecks("stage 0");

  // the next anchor, made by crosslink
  const made = await cli(["certs", "anchor", "--out", path.join(keys, "next")]);
  assert.equal(made.code, 0, made.stderr);
  const nextCrt = path.join(keys, "next", "ca.crt");
  const nextKey = path.join(keys, "next", "ca.key");
  assert.equal(statSync(nextKey).mode & 0o777, 0o600);
  const nextPem = readFileSync(nextCrt, "utf8");
  const both = `${oldPem.trim()}\n${nextPem.trim()}\n`;
  const inRepo = await cli(["certs", "anchor", "--out", path.join(repo.dir, "keys")]);
  assert.equal(inRepo.code, 1);
  assert.match(inRepo.stderr, /KEY_IN_GIT_TREE/);

  // stage 1: both anchors declared; issuers may not move before every bundle holds the new one
  const stage1 = [
    { name: "root-old", file: "anchors/old.crt" },
    { name: "root-next", file: "anchors/next.crt", role: "next" as const },
  ];
  const stage1Rev = await commit(stage1, { "anchors/next.crt": nextPem }, "stage 1: bundle the next anchor");
  const early = await cli(["certs", "issuer", "--anchor-cert", nextCrt, "--anchor-key", nextKey, "-f", file, ...kube]);
  assert.equal(early.code, 1, early.stdout);
  assert.match(early.stderr, /refused \(rotation stage 2 before stage 1 converged\)/);
  assert.match(early.stderr, /us-east: linkerd-config's identityTrustAnchorsPEM lacks it/);
  ({ r, acc } = await applyTopology(await load()));
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes),
  );
  await assertBundles(acc, both, "stage 1");
  ({ r } = await applyTopology(await load()));
  assert.equal(r.writes, 0, "stage 1 converged");
  const st1 = findings(r, "XL636");
  assert.deepEqual(st1.map((f) => f.cluster).sort(), [...NAMES].sort());
  for (const f of st1) {
    assert.match(f.message, /stage 2 of 3/);
    assert.match(f.hint ?? "", /stage 2 is allowed/);
  }
  await assertTrustChecks("stage 1");

  // skipping stage 2: the topology drops the old anchor while every issuer still chains to it
  const final = [{ name: "root-next", file: "anchors/next.crt" }];
  const skipRev = await commit(final, { "anchors/old.crt": null }, "skip: drop the old anchor now");
  ({ r, acc } = await applyTopology(await load()));
  assert.deepEqual(
    findings(r, "XL637")
      .map((f) => f.cluster)
      .sort(),
    [...NAMES].sort(),
    JSON.stringify(r.plan.clusters.map((c) => c.findings)),
  );
  assert.match(findings(r, "XL637")[0]!.message, /stage 3 before stage 2 converged/);
  await assertBundles(acc, both, "skip refused by the engine");
  const review = await cli([
    "plan",
    "--repo",
    repo.dir,
    "--base",
    stage1Rev,
    "--head",
    skipRev,
    "--live",
    ...kube,
    "-o",
    "json",
  ]);
  assert.equal(review.code, 1, review.stderr);
  const rf = (JSON.parse(review.stdout) as { findings: { code: string; cluster?: string; explanation: string }[] })
    .findings;
  assert.deepEqual(
    rf
      .filter((f) => f.code === "XL703")
      .map((f) => f.cluster)
      .sort(),
    [...NAMES].sort(),
  );
  assert.match(rf.find((f) => f.code === "XL703")!.explanation, /Rotate .* issuer to a remaining anchor first/);
  await commit(stage1, { "anchors/old.crt": oldPem }, "back to stage 1");

  // stage 2: one cluster first; stage 3 still waits for the other two
  const one = await cli([
    "certs",
    "issuer",
    "--anchor-cert",
    nextCrt,
    "--anchor-key",
    nextKey,
    "-f",
    file,
    "--cluster",
    "us-east",
    ...kube,
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(
    one.stdout,
    /us-east: linkerd\/linkerd-identity-issuer written \(scheme linkerd.io\/tls\).*chains to `root-next`/,
  );
  ({ r, acc } = await applyTopology(await load()));
  const st2 = new Map(findings(r, "XL636").map((f) => [f.cluster, f]));
  assert.match(
    st2.get("us-east")!.message,
    /issuer reissued from `root-next`; stage 3 of 3 \(drop the old anchor\) not yet allowed/,
  );
  assert.match(st2.get("us-east")!.hint ?? "", /eu-west: its issuer chains to `root-old`, not `root-next`/);
  assert.match(st2.get("eu-west")!.message, /stage 2 of 3/);
  await assertTrustChecks("stage 2 (one of three issuers)");
  await commit(final, { "anchors/old.crt": null }, "skip again: two issuers still old");
  ({ r, acc } = await applyTopology(await load()));
  assert.deepEqual(
    findings(r, "XL637")
      .map((f) => f.cluster)
      .sort(),
    ["ap-south", "eu-west"],
  );
  await assertBundles(acc, both, "partial stage 2");
  await commit(stage1, { "anchors/old.crt": oldPem }, "back to stage 1 again");

  const rest = await cli(["certs", "issuer", "--anchor-cert", nextCrt, "--anchor-key", nextKey, "-f", file, ...kube]);
  assert.equal(rest.code, 0, rest.stderr);
  ({ r, acc } = await applyTopology(await load()));
  for (const f of findings(r, "XL636")) assert.match(f.message, /stage 3 of 3 \(drop the old anchor\) allowed/);
  assert.deepEqual(await installAccepts(acc, both), [0, 0, 0], "linkerd install accepts each issuer with the bundle");
  assert.deepEqual(await installAccepts(acc, oldPem), [1, 1, 1], "…and rejects it against the old anchor alone");
  await assertTrustChecks("stage 2 (all issuers)");
  const status = await cli(["certs", "status", "-f", file, ...kube]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /issuer \(chains to root-next\)/);

  // stage 3: the old anchor leaves, the review allows it
  const finalRev = await commit(final, { "anchors/old.crt": null }, "stage 3: drop the old anchor");
  const ok = await cli([
    "plan",
    "--repo",
    repo.dir,
    "--base",
    stage1Rev,
    "--head",
    finalRev,
    "--live",
    ...kube,
    "-o",
    "json",
  ]);
  const okf = (JSON.parse(ok.stdout) as { findings: { code: string }[] }).findings;
  assert.deepEqual(
    okf.filter((f) => f.code === "XL703" || f.code === "XL704"),
    [],
  );
  ({ r, acc } = await applyTopology(await load()));
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes),
  );
  assert.deepEqual(findings(r, "XL637"), []);
  await assertBundles(acc, nextPem, "stage 3");
  ({ r } = await applyTopology(await load()));
  assert.equal(r.writes, 0);
  assert.deepEqual(findings(r, "XL636"), [], "no rotation under way any more");
  assert.deepEqual(await installAccepts(acc, nextPem), [0, 0, 0]);
  await assertTrustChecks("stage 3");
  t.diagnostic(`linkerd multicluster check ×3 per stage, ms: ${JSON.stringify(timings)}`);
});

/** PEM private-key blocks that parse as keys (a fixture's `AAAA` placeholder does not). */
function privateKeys(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g)) {
    try {
      createPrivateKey(m[0]);
      found.push(m[0].slice(0, 40));
    } catch {
      // not a key
    }
  }
  // base64 of "-----BEGIN " + "EC PRIVATE KEY" / "PRIVATE KEY": a Secret's data printed whole
  for (const header of ["-----BEGIN EC PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----"]) {
    const b = Buffer.from(header).toString("base64"); // built here, so this file holds no such text itself
    if (text.includes(b)) found.push(`base64 of ${header}`);
  }
  return found;
}

test("no private key in the outputs, the topology repository or crosslink's own repository", async (t) => {
  if (!tools) return t.skip(skip);
  assert.ok(outputs.length > 10, `outputs captured: ${outputs.length}`);
  assert.deepEqual(privateKeys(outputs.join("\n")), [], "CLI output and plans");
  assert.ok(committed.length >= 8);
  assert.deepEqual(privateKeys(committed.join("\n")), [], "files committed to the topology repository");
  const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
  const leaks = tracked.filter((f) => {
    try {
      return privateKeys(readFileSync(path.join(ROOT, f), "utf8")).length > 0;
    } catch {
      return false;
    }
  });
  assert.deepEqual(leaks, [], "crosslink's tracked files");
  // the test can fail: a key crosslink made is found when it is there
  const made = readFileSync(path.join(keys, "next", "ca.key"), "utf8");
  assert.equal(privateKeys(made).length, 1);
  assert.equal(privateKeys(`data: ${Buffer.from(made).toString("base64")}`).length, 1, "…and as a Secret's value");
  t.diagnostic(
    `scanned ${outputs.length} outputs, ${committed.length} committed files, ${tracked.length} tracked files`,
  );
});
