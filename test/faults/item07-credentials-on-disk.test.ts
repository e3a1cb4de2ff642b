/**
 * Issue 9 item 7: `plan --repo http://user:pass@…` sends the credentials
 * (the server demands them) but never writes them: no file of the cache
 * holds the password. With XDG_CACHE_HOME unset the cache lives under
 * ~/.cache/crosslink, not in the temp directory, and every directory from the
 * cache root to the repository is mode 0700.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { runCrosslink, servedRepo, type ServedRepo } from "./git-fixtures.js";

const PASSWORD = "pw-7f3c9e21-never-on-disk";
let s: ServedRepo;
before(async () => {
  s = await servedRepo("xl-item07-", { username: "reviewer", password: PASSWORD });
});
after(async () => {
  await s?.server.stop();
  if (s) await rm(s.tmp, { recursive: true, force: true });
});

/** Every file under `dir` (recursively), symlinks not followed. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(p, ...walk(p));
    else out.push(p);
  }
  return out;
}

test("credentials in the URL authenticate but reach no file; the cache is private and not in the temp directory", async () => {
  const home = path.join(s.tmp, "home");
  const tmpdir = path.join(s.tmp, "tmpdir");
  mkdirSync(home);
  mkdirSync(tmpdir);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmpdir };
  delete env.XDG_CACHE_HOME;
  const url = s.url.replace("http://", `http://reviewer:${PASSWORD}@`);
  const r = await runCrosslink(
    ["plan", "--repo", url, "--base", "main", "--head", "main", "-f", "mesh/multicluster.yaml"],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(s.server.stats.requests > s.server.stats.unauthorized, "the server (which demands credentials) answered");
  assert.ok(!(r.stdout + r.stderr).includes(PASSWORD), "password in output");

  assert.deepEqual(readdirSync(tmpdir), [], "nothing in the temp directory");
  const root = path.join(home, ".cache", "crosslink");
  const files = walk(root);
  assert.ok(
    files.some((f) => f.endsWith(".git")),
    `a repository under ${root}: ${files.join(", ")}`,
  );
  const leaks = files.filter((f) => statSync(f).isFile() && readFileSync(f).includes(PASSWORD));
  assert.deepEqual(leaks, [], "files holding the password");
  const config = files.find((f) => f.endsWith(path.join(".git", "config")))!;
  assert.ok(!readFileSync(config, "utf8").includes("reviewer"), "no user name in the config either");

  const gitdir = path.dirname(config);
  for (let d = gitdir; d.startsWith(root); d = path.dirname(d)) {
    assert.equal((statSync(d).mode & 0o777).toString(8), "700", `${d} mode`);
  }
});
