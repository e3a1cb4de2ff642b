/**
 * `crosslink plan` over real git histories (isomorphic-git commits in a
 * temporary repository): one commit per kind of change, checked in the
 * human, Markdown and JSON outputs, plus exit codes and git errors.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { exampleFiles, runCli, tempRepo, type Files, type TempRepo } from "./support.js";

let repo: TempRepo;
let base: string;

before(async () => {
  repo = await tempRepo();
  base = await repo.commit(await exampleFiles("podinfo-split"), "podinfo split 50/50");
  await repo.tag("v1", base);
});

after(() => repo?.remove());

/** Commits `files` on top of base's content and runs plan base..it in every format. */
async function planOf(
  files: Files,
  message = "change",
): Promise<{
  head: string;
  human: Awaited<ReturnType<typeof runCli>>;
  markdown: string;
  json: Record<string, unknown>;
}> {
  const reset = await exampleFiles("podinfo-split");
  await repo.commit(reset, "reset to base");
  const head = await repo.commit(files, message);
  const args = ["plan", "--repo", repo.dir, "--base", base, "--head", head];
  const human = await runCli(args);
  const markdown = await runCli([...args, "-o", "markdown"]);
  const json = await runCli([...args, "-o", "json"]);
  assert.equal(markdown.code, human.code);
  assert.equal(json.code, human.code);
  return { head, human, markdown: markdown.stdout, json: JSON.parse(json.stdout) as Record<string, unknown> };
}

type Doc = Parameters<NonNullable<Parameters<typeof exampleFiles>[2]>>[0];
const edit = (fn: (d: Doc) => void) => exampleFiles("podinfo-split", "", fn);

test("no topology change (a comment only): exit 0 and 'no topology changes'", async () => {
  const r = await planOf(await edit((d) => (d.commentBefore = " just a comment")));
  assert.equal(r.human.code, 0, r.human.stdout + r.human.stderr);
  assert.match(r.human.stdout, /no topology changes; 0 errors/);
  assert.deepEqual(r.json.changes, []);
  assert.equal(r.json.formatVersion, 1);
});

test("split weights: before → after per backend in every format", async () => {
  const r = await planOf(
    await edit((d) => {
      d.setIn(["spec", "splits", 0, "backends", 0, "weight"], 20);
      d.setIn(["spec", "splits", 0, "backends", 1, "weight"], 80);
    }),
  );
  assert.equal(r.human.code, 2, r.human.stdout);
  assert.match(r.human.stdout, /~ split test\/podinfo in workload1: weights changed/);
  assert.match(r.human.stdout, /podinfo@workload2\s+50 \(50%\) → 80 \(80%\)/);
  assert.match(r.markdown, /\| workload1 \| test\/podinfo \| podinfo@workload2 \| 50 \(50%\) \| \*\*80 \(80%\)\*\* \|/);
  assert.match(r.markdown, /<details><summary><b>workload1<\/b>: 1 change<\/summary>/);
  const change = (
    r.json.changes as { kind: string; weights: { backend: string; before: number; after: number }[] }[]
  )[0]!;
  assert.equal(change.kind, "split-changed");
  assert.deepEqual(
    change.weights.map((w) => [w.backend, w.before, w.after]),
    [
      ["podinfo", 50, 20],
      ["podinfo@workload2", 50, 80],
    ],
  );
});

test("cluster, link and export added: implications name the mirror", async () => {
  const r = await planOf(
    await edit((d) => {
      d.addIn(["spec", "clusters"], d.createNode({ name: "workload3" }));
      d.addIn(["spec", "links"], d.createNode({ from: "workload3", to: "workload2" }));
      d.addIn(["spec", "exports"], d.createNode({ cluster: "workload2", namespace: "test", services: ["frontend"] }));
    }),
  );
  assert.equal(r.human.code, 2, r.human.stdout);
  for (const line of [
    "+ cluster workload3 added",
    "+ link workload3 → workload2 added",
    "+ export test/frontend of workload2 added (gateway)",
  ])
    assert.ok(r.human.stdout.includes(line), line);
  assert.match(r.human.stdout, /workload3 will mirror podinfo from workload2 as test\/podinfo-workload2/);
  assert.match(r.human.stdout, /workload1 will mirror frontend from workload2 as test\/frontend-workload2/);
  assert.match(r.markdown, /c2\["workload3"\]:::added/);
  assert.match(r.markdown, /c2 ==>\|added\| c1/);
  const kinds = (r.json.changes as { kind: string }[]).map((c) => c.kind);
  assert.deepEqual(kinds, ["cluster-added", "link-added", "export-added"]);
  assert.deepEqual((r.json.summary as { byKind: object }).byKind, {
    "cluster-added": 1,
    "link-added": 1,
    "export-added": 1,
  });
});

test("cluster removed, with its links: implications and a removed node", async () => {
  const r = await planOf(
    await edit((d) => {
      d.addIn(["spec", "clusters"], d.createNode({ name: "workload3" }));
      d.addIn(["spec", "links"], d.createNode({ from: "workload3", to: "workload1" }));
    }),
  );
  assert.equal(r.human.code, 2);
  // and back: the head of this plan is the base of the next
  const back = await runCli(["plan", "--repo", repo.dir, "--base", r.head, "--head", base]);
  assert.equal(back.code, 2, back.stdout);
  assert.match(back.stdout, /- cluster workload3 removed/);
  assert.match(back.stdout, /- link workload3 → workload1 removed/);
  assert.match(back.stdout, /crosslink stops reading and writing workload3/);
  const md = await runCli(["plan", "--repo", repo.dir, "--base", r.head, "--head", base, "-o", "markdown"]);
  assert.match(md.stdout, /\["workload3"\]:::removed/);
  assert.match(md.stdout, /-\.->\|removed\|/);
});

test("export mode changed: gateway → federated renames the mirror", async () => {
  const r = await planOf(await edit((d) => d.setIn(["spec", "exports", 0, "mode"], "federated")));
  assert.match(r.human.stdout, /~ export test\/podinfo of workload2: mode gateway → federated/);
  assert.match(
    r.human.stdout,
    /workload1 mirrors podinfo from workload2 as test\/podinfo-federated instead of test\/podinfo-workload2/,
  );
  assert.equal((r.json.changes as { kind: string }[])[0]!.kind, "export-mode-changed");
});

test("link changed: credentials mode and ttl", async () => {
  const r = await planOf(
    await edit((d) => d.setIn(["spec", "links", 1, "credentials", "mode"], "service-account-token")),
  );
  assert.equal(r.human.code, 2, r.human.stdout);
  assert.match(
    r.human.stdout,
    /~ link workload2 → workload1 changed: credentials\.mode token-request → service-account-token/,
  );
  assert.match(r.markdown, /-->\|changed\|/);
});

test("split added and removed", async () => {
  const added = await planOf(
    await edit((d) =>
      d.addIn(
        ["spec", "splits"],
        d.createNode({
          cluster: "workload2",
          namespace: "test",
          service: "podinfo",
          backends: [
            { service: "podinfo", weight: 3 },
            { service: "podinfo", cluster: "workload1", weight: 1 },
          ],
        }),
      ),
    ),
  );
  // workload1 exports nothing, so the remote backend is a validation error at head
  assert.equal(added.human.code, 1);
  assert.match(added.human.stdout, /\+ split test\/podinfo in workload2 added/);
  assert.match(added.human.stdout, /podinfo@workload1\s+— → 1 \(25%\)/);
  assert.match(added.human.stdout, /Validation at /);
  const removed = await planOf(await edit((d) => d.deleteIn(["spec", "splits", 0])));
  assert.equal(removed.human.code, 2, removed.human.stdout);
  assert.match(removed.human.stdout, /- split test\/podinfo in workload1 removed/);
  assert.match(removed.markdown, /\| workload1 \| test\/podinfo \| podinfo \| 50 \(50%\) \| \*\*—\*\* \|/);
});

test("revisions: tag, short sha, HEAD~N and the default head", async () => {
  const head = await repo.commit(
    await edit((d) => d.setIn(["spec", "splits", 0, "backends", 0, "weight"], 10)),
    "weights",
  );
  for (const b of ["v1", base.slice(0, 8), base]) {
    const r = await runCli(["plan", "--repo", repo.dir, "--base", b, "--head", head]);
    assert.equal(r.code, 2, `${b}: ${r.stderr}`);
  }
  const r = await runCli(["plan", "--repo", repo.dir, "--base", "HEAD~1"]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /HEAD~1 \([0-9a-f]{7}\) → HEAD \([0-9a-f]{7}\)/);
});

test("git errors: unknown revision and file missing at a revision exit 1 with a code", async () => {
  const unknown = await runCli(["plan", "--repo", repo.dir, "--base", "no-such-branch"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /error UNKNOWN_REVISION: no-such-branch: unknown revision/);
  const missing = await runCli(["plan", "--repo", repo.dir, "--base", base, "-f", "deploy/multicluster.yaml"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error FILE_MISSING: deploy\/multicluster\.yaml: no such file at /);
  const notRepo = await runCli(["plan", "--repo", "/", "--base", "HEAD"]);
  assert.equal(notRepo.code, 1);
  assert.match(notRepo.stderr, /NOT_A_REPOSITORY/);
});

test("a topology in a subdirectory reads its anchors from the same revision", async () => {
  const sub = await tempRepo();
  try {
    const a = await sub.commit(await exampleFiles("three-regions", "mesh/"), "three regions");
    const b = await sub.commit(
      await exampleFiles("three-regions", "mesh/", (d) => d.deleteIn(["spec", "exports", 3])),
      "drop catalog",
    );
    const r = await runCli(["plan", "--repo", sub.dir, "--base", a, "--head", b, "-f", "mesh/multicluster.yaml"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /- export shop\/catalog of us-east removed \(was remote-discovery\)/);
    assert.match(r.stdout, /eu-west will stop mirroring catalog from us-east \(shop\/catalog-us-east is deleted\)/);
  } finally {
    await sub.remove();
  }
});

test("head that is not YAML: validation errors, exit 1, no changes claimed", async () => {
  const r = await planOf({ "multicluster.yaml": "spec: [unclosed\n" });
  assert.equal(r.human.code, 1);
  assert.match(r.human.stdout, /error XL/);
  assert.equal((r.json.head as { valid: boolean }).valid, false);
});
