/**
 * Issue 9 item 8: a big file in the followed branch. A 130 MB blob beside the
 * topology makes the fetch exceed --max-fetch-bytes (64 MiB): the daemon
 * cuts it off, reports SOURCE_TOO_LARGE, keeps the last good revision, and
 * its peak RSS stays under 300 MiB (before: the whole pack was downloaded,
 * held and indexed in memory, 944 MB peak in the issue). A blob that
 * compresses to almost nothing but inflates past half the limit is refused
 * from the pack's entry header, before isomorphic-git inflates it. A topology
 * blob over the file size limit is refused from its object header; a topology
 * or anchor that is a symbolic link in the tree is refused, not followed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { GitSource } from "../../src/source/git.js";
import { validateSnapshot } from "../../src/daemon/validate.js";
import { git, TOPOLOGY_PATH } from "../daemon/support.js";
import { EMPTY_KUBECONFIG, servedRepo, startDaemonChild, until, type ServedRepo } from "./git-fixtures.js";

let s: ServedRepo;
before(async () => {
  s = await servedRepo("xl-item08-");
});
after(async () => {
  await s?.server.stop();
  if (s) await rm(s.tmp, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

test("a 130 MB blob in the branch: fetch refused over --max-fetch-bytes, last good revision kept, peak RSS < 300 MiB", async () => {
  const kubeconfig = path.join(s.tmp, "kubeconfig");
  writeFileSync(kubeconfig, EMPTY_KUBECONFIG);
  const env = { ...process.env, XDG_CACHE_HOME: path.join(s.tmp, "cache") };
  const daemon = await startDaemonChild(
    [
      "--repo",
      s.url,
      "--branch",
      "main",
      "--path",
      TOPOLOGY_PATH,
      "--schedule",
      "*/2 * * * * *",
      "--kubeconfig",
      kubeconfig,
      "--log-level",
      "info",
    ],
    env,
  );
  try {
    await until("the first revision in force", async () => (await daemon.status()).revision.lastGood === s.repo.first);
    const idleKb = daemon.peakRssKb();

    // 130 MB of random bytes: incompressible, so the pack is about as big
    writeFileSync(path.join(s.repo.work, "big.bin"), randomBytes(130 * 1000 * 1000));
    const t0 = Date.now();
    const big = s.repo.commit("add a 130 MB blob");
    const st = await until(
      "the fetch refused",
      async () => {
        const v = await daemon.status();
        return v.fetch.code === "SOURCE_TOO_LARGE" ? v : undefined;
      },
      120_000,
    );
    const refusedMs = Date.now() - t0;
    const peakKb = daemon.peakRssKb();
    console.log(
      `# item08: idle VmHWM ${idleKb} kB, after the 130 MB push VmHWM ${peakKb} kB, refused ${refusedMs} ms after the push`,
    );
    assert.match(st.fetch.error ?? "", /more than 67108864 bytes/);
    assert.equal(st.revision.lastGood, s.repo.first, "the last good revision stays in force");
    assert.notEqual(st.revision.lastGood, big);
    assert.ok(peakKb < 300 * 1024, `peak RSS ${peakKb} kB must stay under 300 MiB`);
    // the refused commit is not downloaded again at every tick (one discovery request each)
    s.server.resetStats();
    await new Promise((r) => setTimeout(r, 5_000));
    const again = await daemon.status();
    assert.equal(again.fetch.code, "SOURCE_TOO_LARGE", "still refused");
    assert.ok(s.server.stats.requests >= 1, "the daemon kept polling");
    assert.deepEqual(
      s.server.stats.paths.filter((p) => !p.includes("info/refs")),
      [],
      "no pack requested again",
    );
  } finally {
    const last = await daemon.status().catch(() => undefined);
    console.log(
      `# item08: at the end VmHWM ${daemon.peakRssKb()} kB, fetch ${JSON.stringify(last?.fetch)}, lastGood ${last?.revision.lastGood}`,
    );
    await daemon.stop();
  }
});

test("a blob that inflates past the limit is refused from the pack; a topology over the size limit from its header; symlinked topology and anchor are refused", async () => {
  git(s.repo.work, "rm", "-q", "--cached", "big.bin");
  rmSync(path.join(s.repo.work, "big.bin"));
  // 150 MB of one repeated line deflates to a few hundred kB: the download is small, the object is not
  const yaml = s.repo.readTopology();
  const line = "# padding padding padding padding padding padding padding padding\n";
  const chunk = line.repeat(Math.ceil(MiB / line.length));
  const { appendFileSync } = await import("node:fs");
  const bombFile = path.join(s.repo.work, "mesh", "bomb.txt");
  for (let i = 0; i < 150; i++) appendFileSync(bombFile, chunk);
  s.repo.commit("a 150 MiB file that compresses well");
  const src = new GitSource({
    url: s.url,
    ref: { branch: "main" },
    path: TOPOLOGY_PATH,
    cacheDir: path.join(s.tmp, "src-cache"),
  });
  const peak0 = process.resourceUsage().maxRSS;
  await assert.rejects(
    src.sync(),
    (e: Error & { code?: string }) =>
      e.code === "SOURCE_TOO_LARGE" && /an object of 15\d{7} bytes inflated, over the 33554432 bytes/.test(e.message),
  );
  const peak1 = process.resourceUsage().maxRSS;
  console.log(
    `# item08: the 150 MiB compressible blob refused from its pack header; peak RSS of this process ${peak0 >> 10} -> ${peak1 >> 10} MiB`,
  );
  assert.ok(peak1 - peak0 < 100 * 1024, `peak RSS grew ${(peak1 - peak0) >> 10} MiB`);
  rmSync(bombFile);

  // a 20 MiB topology: the fetch is accepted, the file is refused from its object header before it is inflated
  const file = path.join(s.repo.work, TOPOLOGY_PATH);
  writeFileSync(file, yaml);
  for (let i = 0; i < 20; i++) appendFileSync(file, chunk);
  const padded = s.repo.commit("a 20 MiB topology");
  const snap = await src.sync();
  assert.equal(snap.revision, padded);
  const before = process.memoryUsage().rss;
  await assert.rejects(
    snap.readFile(TOPOLOGY_PATH),
    (e: Error & { code?: string }) => e.code === "EFBIG" && /is 2\d{7} bytes, over the 4194304 bytes/.test(e.message),
  );
  const grew = process.memoryUsage().rss - before;
  console.log(`# item08: refusing the 20 MiB topology blob grew RSS by ${Math.round(grew / MiB)} MiB`);
  assert.ok(grew < 15 * MiB, `read only the header: RSS grew ${grew} bytes`);
  const v = await validateSnapshot(snap, new Date());
  assert.equal(v.topology, undefined);
  assert.match(v.diagnostics[0]?.message ?? "", /over the 4194304 bytes/);

  // the topology as a symbolic link to a regular file of the repository
  writeFileSync(file, yaml);
  const real = path.join(s.repo.work, "mesh", "real.yaml");
  writeFileSync(real, yaml);
  unlinkSync(file);
  symlinkSync("real.yaml", file);
  s.repo.commit("topology through a symlink");
  const linked = await src.sync();
  await assert.rejects(
    linked.readFile(TOPOLOGY_PATH),
    (e: Error & { code?: string }) => e.code === "ELOOP" && /symbolic link/.test(e.message),
  );

  // an anchor file that is a symbolic link (to /etc/passwd: never read)
  unlinkSync(file);
  writeFileSync(file, yaml);
  const anchor = path.join(s.repo.work, "mesh", "anchors", "root.crt");
  unlinkSync(anchor);
  symlinkSync("/etc/passwd", anchor);
  mkdirSync(path.dirname(anchor), { recursive: true });
  s.repo.commit("anchor through a symlink");
  const anchorLinked = await src.sync();
  const va = await validateSnapshot(anchorLinked, new Date());
  assert.equal(va.topology, undefined, "refused");
  assert.ok(
    va.diagnostics.some((d) => d.code === "XL300" && /symbolic link/.test(d.message)),
    JSON.stringify(va.diagnostics),
  );
});
