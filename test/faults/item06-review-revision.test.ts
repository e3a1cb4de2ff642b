/**
 * Issue 9 item 6: `plan --repo URL --head main` reviews the server's current
 * `main`. Run twice against the same cache with a push in between, the second
 * run must report the new commit; after a force-push back, the old one.
 * Before the fix the clone made a local `main` that later fetches never
 * moved, and it was resolved before `origin/main`.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { git } from "../daemon/support.js";
import { runCrosslink, servedRepo, type ServedRepo } from "./git-fixtures.js";

let s: ServedRepo;
before(async () => {
  s = await servedRepo("xl-item06-");
});
after(async () => {
  await s?.server.stop();
  if (s) await rm(s.tmp, { recursive: true, force: true });
});

async function planHead(): Promise<{ code: number; base: string; head: string; stderr: string }> {
  const env = { ...process.env, XDG_CACHE_HOME: path.join(s.tmp, "cache") };
  const r = await runCrosslink(
    ["plan", "--repo", s.url, "--base", "main~1", "--head", "main", "-f", "mesh/multicluster.yaml", "-o", "json"],
    env,
  );
  assert.ok(r.code === 0 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
  const json = JSON.parse(r.stdout) as { base: { oid: string }; head: { oid: string } };
  return { code: r.code, base: json.base.oid, head: json.head.oid, stderr: r.stderr };
}

test("a second plan --repo URL after a push reviews the new main; after a force-push, the rewritten one", async () => {
  const second = s.repo.edit("weights 80", (d) => d.setIn(["spec", "splits", 0, "backends", 0, "weight"], 80));
  const one = await planHead();
  assert.equal(one.head, second, "first run: head is main");
  assert.equal(one.base, s.repo.first);

  const third = s.repo.edit("weights 70", (d) => d.setIn(["spec", "splits", 0, "backends", 0, "weight"], 70));
  const two = await planHead();
  assert.equal(
    two.head,
    third,
    `second run after a push: head must be the new main ${third.slice(0, 12)}, got ${two.head.slice(0, 12)}`,
  );
  assert.equal(two.base, second);

  git(s.repo.work, "reset", "-q", "--hard", second);
  git(s.repo.work, "push", "-q", "--force", "origin", "HEAD:main");
  const three = await planHead();
  assert.equal(three.head, second, "third run after a force-push: head is the rewritten main");
  assert.equal(three.base, s.repo.first);
});
