/**
 * Issue 9 item 12: a force-push that moves the branch back. With
 * --trusted-keys, moving to an ancestor of the applied commit (itself signed
 * by the trusted key) is refused: status says why, the metric counts it, the
 * applied revision stays in force and nothing is written. With --allow-rewind
 * the same move is applied, and still logged, counted and shown. Real git
 * server (http-backend), real force-push, two harness clusters.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import * as openpgp from "openpgp";
import { parseDocument } from "yaml";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { type ClusterAccess } from "../../src/kube/access.js";
import {
  daemonArgs,
  type DaemonEnv,
  freshCache,
  git,
  runConfig,
  setupDaemonEnv,
  signedCommit,
  splitWeights,
  testClients,
  clientTotals,
  waitFor,
} from "../daemon/support.js";

let env: DaemonEnv;
const running: Daemon[] = [];
before(async () => {
  env = await setupDaemonEnv("xl-item12-");
});
after(async () => {
  for (const d of running) await d.stop().catch(() => {});
  await env?.teardown();
});

const weights = async (): Promise<string> => JSON.stringify(await splitWeights(env.check.clients.get("workload1")!));

async function daemon(extra: string[]): Promise<Daemon & { writes(): number }> {
  const cfg = runConfig([
    ...daemonArgs(env, freshCache()),
    "--shutdown-timeout",
    "10s",
    "--schedule",
    "*/1 * * * * *",
    ...extra,
  ]);
  const accesses: ClusterAccess[] = [];
  const d = await createDaemon(cfg, {
    log: createLogger("silent"),
    clients: testClients(env.clusters.kubeconfigPath, accesses, 3_000),
  });
  running.push(d);
  await d.start();
  return Object.assign(d, { writes: () => clientTotals(accesses).writes });
}

const status = async (d: Daemon): Promise<DaemonStatus> =>
  (await (await fetch(`${d.url()}/status`)).json()) as DaemonStatus;
const until = <T>(what: string, fn: () => Promise<T>, ms = 20_000) => waitFor(what, fn, ms, 100);

function setWeights(a: number, b: number): void {
  const doc = parseDocument(env.repo.readTopology());
  doc.setIn(["spec", "splits", 0, "backends", 0, "weight"], a);
  doc.setIn(["spec", "splits", 0, "backends", 1, "weight"], b);
  env.repo.writeTopology(doc.toString());
}

function forcePush(oid: string): void {
  git(env.repo.work, "reset", "-q", "--hard", oid);
  git(env.repo.work, "push", "-q", "--force", "origin", "HEAD:main");
}

test("with --trusted-keys a force-push back to a signed ancestor is refused; with --allow-rewind it is applied; both are counted and shown", async () => {
  const key = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "release", email: "release@example.com" }],
    format: "armored",
  });
  const keyFile = path.join(env.tmp, "trusted.asc");
  writeFileSync(keyFile, key.publicKey);

  setWeights(40, 60);
  const old = await signedCommit(env.repo.work, key.privateKey, "signed: weights 40/60");
  const d = await daemon(["--trusted-keys", keyFile]);
  await until("the old signed commit applied", async () => (await status(d)).revision.applied === old);
  setWeights(35, 65);
  const current = await signedCommit(env.repo.work, key.privateKey, "signed: weights 35/65");
  await until(
    "the new signed commit applied",
    async () => (await status(d)).revision.applied === current && (await weights()) === "[35,65]",
  );
  const writes = d.writes();

  const t0 = Date.now();
  forcePush(old);
  const s = await until("the rewind refused", async () => {
    const s = await status(d);
    return s.rejected?.revision === old ? s : undefined;
  });
  console.log(`# item12: rewind refused ${Date.now() - t0} ms after the force-push`);
  assert.equal(s.rejected!.reason, "rewind");
  assert.match(s.rejected!.message, /ancestor of .*--allow-rewind/);
  assert.deepEqual(
    { from: s.lastMove?.from, to: s.lastMove?.to, relation: s.lastMove?.relation, refused: s.lastMove?.refused },
    { from: current, to: old, relation: "rewind", refused: true },
  );
  assert.equal(s.revision.head, old);
  assert.equal(s.revision.lastGood, current, "the applied revision stays in force");
  // Ticks that reconciled or found nothing changed (watches: skipped as unchanged).
  const ticks = (s: DaemonStatus) => s.reconciles + (s.unchangedTicks ?? 0);
  const base = ticks(s);
  await until("two more ticks", async () => ticks(await status(d)) >= base + 2);
  assert.equal((await status(d)).rejected?.revision, old, "still refused");
  assert.equal(await weights(), "[35,65]");
  assert.equal(d.writes(), writes, "nothing written for the rewind");
  assert.match(await d.metrics.text(), /crosslink_source_non_fast_forward_total\{relation="rewind",refused="true"\} 1/);

  // back to the current commit: a fast-forward from the refused head, nothing to refuse
  forcePush(current);
  await until("back in sync", async () => (await status(d)).rejected === undefined);
  await d.stop();
  running.splice(running.indexOf(d), 1);

  const allowed = await daemon(["--trusted-keys", keyFile, "--allow-rewind"]);
  await until("the current commit applied", async () => (await status(allowed)).revision.applied === current);
  forcePush(old);
  await until(
    "the rewind applied",
    async () => (await status(allowed)).revision.applied === old && (await weights()) === "[40,60]",
  );
  const a = await status(allowed);
  assert.deepEqual(
    { relation: a.lastMove?.relation, refused: a.lastMove?.refused },
    { relation: "rewind", refused: false },
  );
  assert.match(
    await allowed.metrics.text(),
    /crosslink_source_non_fast_forward_total\{relation="rewind",refused="false"\} 1/,
  );
});
