/**
 * Issue 9, item 13: the prune guard catches accidents, not edits. Against
 * three harness clusters (us-east, eu-west, ap-south): `crosslink apply`
 * removes the only link of a cluster (10 of its 10 objects) and one link of
 * the six of examples/three-regions without a flag; a hand-labelled object no
 * declared change explains is not deleted without --allow-mass-prune; the
 * daemon applies a one-link commit, holds back a commit dropping 4 of 6 links,
 * and applies it once the revision in force carries `crosslink: allow-mass-prune`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile, mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseDocument } from "yaml";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { isKindsRecordRef } from "../../src/engine/kinds-record.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../../src/kube/access.js";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { clientTotals, createRepo, daemonArgs, ROOT, runConfig, testClients, waitFor } from "../daemon/support.js";
import { exampleTopology } from "../engine/support.js";

const NAMES = ["us-east", "eu-west", "ap-south"];
const MC = "linkerd-multicluster";
let tmp: string;
let clusters: StartedClusters;
let acc: ClusterAccess;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-item13-"));
  clusters = await startClusters(NAMES, { log: () => {} });
  acc = clusterAccess(
    await exampleTopology("three-regions", clusters.trustAnchorPem),
    loadKubeConfig(clusters.kubeconfigPath),
    { attempts: 2, baseDelayMs: 50, timeoutMs: 5_000 },
  );
});

after(async () => {
  acc?.close();
  await clusters?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type Doc = ReturnType<typeof parseDocument>;

/** Writes examples/three-regions (edited) with the harness anchor into tmp/cli/. */
async function writeTopology(edit?: (d: Doc) => void): Promise<string> {
  const dir = path.join(tmp, "cli");
  await mkdir(path.join(dir, "anchors"), { recursive: true });
  await writeFile(path.join(dir, "anchors", "root.crt"), clusters.trustAnchorPem);
  const doc = parseDocument(await readFile(path.join(ROOT, "examples", "three-regions", "multicluster.yaml"), "utf8"));
  edit?.(doc);
  await writeFile(path.join(dir, "multicluster.yaml"), doc.toString());
  return path.join(dir, "multicluster.yaml");
}

/** Runs the real CLI; bounded to 3 minutes. */
function crosslink(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin", "crosslink.js"), ...args],
      { timeout: 180_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const apply = async (file: string, ...flags: string[]) => {
  const r = await crosslink("apply", "-f", file, "--kubeconfig", clusters.kubeconfigPath, "--yes", ...flags);
  const made = [...r.stdout.matchAll(/(\d+) change\(s\) made/g)].reduce((n, m) => n + Number(m[1]), 0);
  return { ...r, made };
};

async function links(from: string): Promise<string[]> {
  return (await acc.clients.get(from)!.list("multicluster.linkerd.io/v1alpha3", "Link", { namespace: MC }))
    .map((l) => l.metadata.name)
    .sort();
}

async function ownedCount(cluster: string): Promise<number> {
  const selector = "app.kubernetes.io/managed-by=crosslink,crosslink.dev/topology=three-regions";
  let n = 0;
  const rbac = "rbac.authorization.k8s.io/v1";
  const kinds = [
    ["multicluster.linkerd.io/v1alpha3", "Link"],
    ["v1", "Secret"],
    ["v1", "ServiceAccount"],
    ["apps/v1", "Deployment"],
    ["v1", "Service"],
    [rbac, "ClusterRole"],
    [rbac, "ClusterRoleBinding"],
    [rbac, "Role"],
    [rbac, "RoleBinding"],
  ] as const;
  for (const [apiVersion, kind] of kinds) {
    const objects = await acc.clients.get(cluster)!.list(apiVersion, kind, { labelSelector: selector });
    // The kinds record is plan's bookkeeping, kept while the cluster is in the topology: not an object of it.
    n += objects.filter((o) => !isKindsRecordRef({ apiVersion, kind, name: o.metadata.name })).length;
  }
  return n;
}

const setLinks = (pairs: [string, string][]) => (d: Doc) =>
  d.setIn(["spec", "links"], d.createNode(pairs.map(([from, to]) => ({ from, to }))));

test("apply: removing the only link of a cluster (all of its objects) needs no flag", async () => {
  const three = await writeTopology(
    setLinks([
      ["us-east", "eu-west"],
      ["eu-west", "us-east"],
      ["ap-south", "us-east"],
    ]),
  );
  const first = await apply(three);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(await links("ap-south"), ["us-east"]);
  const before = await ownedCount("ap-south");
  const two = await writeTopology(
    setLinks([
      ["us-east", "eu-west"],
      ["eu-west", "us-east"],
    ]),
  );
  const r = await apply(two);
  console.log(
    `item13 only link of ap-south removed: exit ${r.code}, ${r.made} change(s) made; ap-south owned ${before} → ${await ownedCount("ap-south")}`,
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /BLOCKED|XL641/);
  assert.deepEqual(await links("ap-south"), []);
  assert.equal(await ownedCount("ap-south"), 0);
});

test("apply: one link of the six of three-regions removed converges without a flag", async () => {
  const full = await apply(await writeTopology());
  assert.equal(full.code, 0, full.stdout + full.stderr);
  assert.deepEqual(await links("us-east"), ["ap-south", "eu-west"]);
  const r = await apply(await writeTopology((d) => d.deleteIn(["spec", "links", 0]))); // us-east → eu-west
  console.log(`item13 one link of six removed: exit ${r.code}, ${r.made} change(s) made`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(await links("us-east"), ["ap-south"]);
  const again = await apply(await writeTopology((d) => d.deleteIn(["spec", "links", 0])));
  assert.equal(again.code, 0);
  assert.match(again.stdout, /Plan: no changes/);
});

test("apply: a deletion no declared change explains is blocked (XL642) unless --allow-mass-prune", async () => {
  const labels = { "app.kubernetes.io/managed-by": "crosslink", "crosslink.dev/topology": "three-regions" };
  const stray = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "copied-by-hand", namespace: MC, labels },
  };
  await acc.clients.get("ap-south")!.apply(stray, { dryRun: false, fieldManager: "kubectl" });
  const file = await writeTopology((d) => d.deleteIn(["spec", "links", 0]));
  const r = await apply(file);
  const kept = await acc.clients
    .get("ap-south")!
    .get({ apiVersion: "v1", kind: "ServiceAccount", namespace: MC, name: "copied-by-hand" });
  console.log(
    `item13 unexplained deletion: exit ${r.code}, ${r.made} change(s) made, object ${kept ? "kept" : "deleted"}`,
  );
  assert.equal(r.code, 1, r.stdout);
  assert.match(
    r.stdout,
    /error XL642: 1 deletion\(s\) in ap-south that no change of the topology explains: ServiceAccount linkerd-multicluster\/copied-by-hand/,
  );
  assert.ok(kept, "the object is still there");
  const allowed = await apply(file, "--allow-mass-prune");
  assert.equal(allowed.code, 0, allowed.stdout);
  assert.equal(
    await acc.clients
      .get("ap-south")!
      .get({ apiVersion: "v1", kind: "ServiceAccount", namespace: MC, name: "copied-by-hand" }),
    undefined,
  );
});

test("daemon: a one-link commit is applied; 4 of 6 links dropped is held back until the revision carries the trailer", async () => {
  const repos = path.join(tmp, "repos");
  const repo = createRepo(repos, "mesh", "three-regions", clusters.trustAnchorPem);
  let server: GitServer | undefined;
  let d: Daemon | undefined;
  try {
    server = await startGitServer({ root: repos });
    const cfg = runConfig([
      ...daemonArgs({ server, clusters, tmp }, "cache"),
      "--schedule",
      "0 0 1 1 *",
      "--shutdown-timeout",
      "10s",
    ]);
    const accesses: ClusterAccess[] = [];
    d = await createDaemon(cfg, {
      log: createLogger("silent"),
      clients: testClients(clusters.kubeconfigPath, accesses),
    });
    const daemon = d;
    const writes = () => clientTotals(accesses).writes;
    const status = async (): Promise<DaemonStatus> =>
      (await (await fetch(`${daemon.url()}/status`)).json()) as DaemonStatus;
    await daemon.start();
    await waitFor(
      "the full mesh applied at startup",
      async () => (await status()).revision.applied === repo.first,
      120_000,
      200,
    );
    assert.deepEqual(await links("us-east"), ["ap-south", "eu-west"]);

    const one = repo.edit("drop us-east → eu-west", (doc) => doc.deleteIn(["spec", "links", 0]));
    await daemon.loop.trigger("test");
    const s1 = await status();
    console.log(
      `item13 daemon one-link commit: applied ${s1.revision.applied === one}, clusters ${s1.clusters.map((c) => `${c.name}:${c.state}`).join(" ")}`,
    );
    assert.equal(s1.revision.applied, one, JSON.stringify(s1.clusters));
    assert.deepEqual(await links("us-east"), ["ap-south"]);

    const back = repo.edit("link us-east → eu-west again", (doc) =>
      doc.setIn(
        ["spec", "links"],
        doc.createNode([
          { from: "us-east", to: "eu-west" },
          ...(doc.getIn(["spec", "links"]) as { toJSON(): unknown[] }).toJSON(),
        ]),
      ),
    );
    await daemon.loop.trigger("test");
    assert.equal((await status()).revision.applied, back);

    const dropFour = (doc: Doc) => {
      for (let i = 0; i < 4; i++) doc.deleteIn(["spec", "links", 0]);
    };
    const four = repo.edit("retire most links", dropFour);
    const w0 = writes();
    await daemon.loop.trigger("test");
    const s2 = await status();
    const held = {
      applied: s2.revision.applied,
      lastGood: s2.revision.lastGood,
      writes: writes() - w0,
      states: s2.clusters.map((c) => `${c.name}:${c.state}`).join(" "),
    };
    console.log(`item13 daemon 4-of-6 commit without trailer: ${JSON.stringify(held)}`);
    assert.equal(s2.revision.lastGood, four);
    assert.equal(s2.revision.applied, back, "the revision in force stays the last applied one");
    assert.equal(held.writes, 0);
    assert.ok(
      s2.clusters.every((c) => c.state === "blocked"),
      held.states,
    );
    assert.match(s2.clusters[0]!.error ?? "", /4 of 6 links removed \(67%\) compared with the previous topology/);
    assert.deepEqual(await links("us-east"), ["ap-south", "eu-west"]);

    const allowed = repo.commit("retire most links\n\nThey move to the new mesh.\n\ncrosslink: allow-mass-prune");
    await daemon.loop.trigger("test");
    const s3 = await status();
    console.log(
      `item13 daemon same change with the trailer: applied ${s3.revision.applied === allowed}, writes ${writes() - w0}, clusters ${s3.clusters.map((c) => `${c.name}:${c.state}`).join(" ")}`,
    );
    assert.equal(s3.revision.applied, allowed, JSON.stringify(s3.clusters));
    assert.deepEqual(await links("us-east"), []);
    assert.deepEqual(await links("ap-south"), ["eu-west", "us-east"]);
  } finally {
    await d?.stop();
    await server?.stop();
  }
});
