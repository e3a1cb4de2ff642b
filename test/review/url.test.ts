/**
 * `crosslink plan --repo URL`: the repository is cloned over smart HTTP from a
 * real `git http-backend` on loopback into a cache, and fetched again when the
 * branch moves.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { exampleFiles, runCli, tempRepo, type TempRepo } from "./support.js";

const run = promisify(execFile);
let repo: TempRepo;
let root: string;
let cache: string;
let server: GitServer;
let url: string;

async function publish(): Promise<void> {
  await run("git", [
    "--git-dir",
    path.join(root, "mesh.git"),
    "fetch",
    "-q",
    repo.dir,
    "+refs/heads/main:refs/heads/main",
  ]);
}

before(async () => {
  repo = await tempRepo();
  root = await mkdtemp(path.join(os.tmpdir(), "xl-review-srv-"));
  cache = await mkdtemp(path.join(os.tmpdir(), "xl-review-cache-"));
  await repo.commit(await exampleFiles("podinfo-split"), "base");
  await repo.commit(
    await exampleFiles("podinfo-split", "", (d) => d.setIn(["spec", "splits", 0, "backends", 0, "weight"], 80)),
    "shift podinfo to 80/50",
  );
  await run("git", ["init", "-q", "--bare", path.join(root, "mesh.git")]);
  await run("git", ["--git-dir", path.join(root, "mesh.git"), "symbolic-ref", "HEAD", "refs/heads/main"]);
  await publish();
  server = await startGitServer({ root });
  url = `${server.url}/mesh.git`;
});

after(async () => {
  await server?.stop();
  await repo?.remove();
  await rm(root, { recursive: true, force: true });
  await rm(cache, { recursive: true, force: true });
});

test("plan clones a URL and reviews two of its revisions", async () => {
  const r = await runCli([
    "plan",
    "--repo",
    url,
    "--base",
    "main~1",
    "--head",
    "main",
    "--cache-dir",
    cache,
    "-o",
    "json",
  ]);
  assert.equal(r.code, 2, r.stderr);
  const json = JSON.parse(r.stdout) as { changes: { kind: string }[] };
  assert.ok(
    json.changes.some((c) => /split/.test(c.kind)),
    r.stdout,
  );
  assert.ok(server.stats.requests > 0);
});

test("a moved branch is fetched into the cache; the URL's credentials never show", async () => {
  await repo.commit(await exampleFiles("podinfo-split", "", (d) => d.deleteIn(["spec", "splits"])), "drop the split");
  await publish();
  server.resetStats();
  const withUser = url.replace("http://", "http://reviewer:s3cret-pass@");
  const r = await runCli(["plan", "--repo", withUser, "--base", "main~1", "--head", "main", "--cache-dir", cache]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stdout, /split/);
  assert.ok(server.stats.requests > 0, "fetched again");
  assert.ok(!(r.stdout + r.stderr).includes("s3cret-pass"));
});
