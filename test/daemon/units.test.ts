/** Pure parts of the daemon: webhook verification, configuration, backoff, and the loop's serialization with fake ports. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ClusterBackoff } from "../../src/util/backoff.js";
import { ConfigError, parseRunConfig } from "../../src/daemon/config.js";
import { createLogger } from "../../src/daemon/log.js";
import { ReconcileLoop, driftDue } from "../../src/daemon/loop.js";
import { DaemonMetrics } from "../../src/daemon/metrics.js";
import { DeliveryLog, refMatches, signWebhook, verifyWebhook } from "../../src/daemon/webhook.js";
import { redactUrl } from "../../src/source/errors.js";
import type { Source, SourceSnapshot } from "../../src/source/types.js";

const body = Buffer.from(JSON.stringify({ ref: "refs/heads/main", after: "abc" }));

test("webhooks: GitHub, GitLab and generic HMAC are verified; anything else is refused", () => {
  const ok = verifyWebhook("s", { "x-github-event": "push", "x-hub-signature-256": signWebhook("s", body) }, body);
  assert.deepEqual(ok, { ok: true, provider: "github", event: "push", ref: "refs/heads/main", after: "abc" });
  assert.equal(
    verifyWebhook("s", { "x-github-event": "push", "x-hub-signature-256": signWebhook("t", body) }, body).ok,
    false,
  );
  assert.equal(verifyWebhook("s", { "x-gitlab-token": "s", "x-gitlab-event": "Push Hook" }, body).ok, true);
  assert.equal(verifyWebhook("s", { "x-gitlab-token": "nope" }, body).ok, false);
  assert.equal(verifyWebhook("s", { "x-crosslink-signature": signWebhook("s", body) }, body).ok, true);
  assert.equal(verifyWebhook("s", { "x-crosslink-signature": "sha256=" + "0".repeat(64) }, body).ok, false);
  assert.deepEqual(verifyWebhook("s", {}, body), { ok: false, status: 401, reason: "no signature header" });
  assert.deepEqual(verifyWebhook(undefined, { "x-gitlab-token": "s" }, body), {
    ok: false,
    status: 503,
    reason: "webhook secret not configured",
  });
  assert.ok(refMatches("refs/heads/main", { branch: "main" }));
  assert.ok(!refMatches("refs/heads/dev", { branch: "main" }));
  assert.ok(refMatches(undefined, { branch: "main" }));
  assert.ok(refMatches("refs/tags/v1", { tag: "v1" }));
});

test("config: flags, environment fallbacks and errors", () => {
  const cfg = parseRunConfig(["--repo", "https://git.example.com/mesh.git", "--tag", "v1"], {
    CROSSLINK_SCHEDULE: "*/5 * * * *",
    CROSSLINK_DRIFT: "report",
    CROSSLINK_SUSPEND: "true",
    CROSSLINK_DRIFT_INTERVAL: "5m",
  });
  assert.ok(cfg !== "help");
  assert.deepEqual(cfg.ref, { tag: "v1" });
  assert.equal(cfg.schedule, "*/5 * * * *");
  assert.equal(cfg.drift, "report");
  assert.equal(cfg.suspend, true);
  assert.equal(cfg.driftIntervalMs, 300_000);
  assert.deepEqual(cfg.webhookListen, { host: "0.0.0.0", port: 8080 });
  const env = parseRunConfig([], { CROSSLINK_REPO: "/srv/mesh", CROSSLINK_LISTEN: "[::1]:9000" });
  assert.ok(env !== "help");
  assert.deepEqual(env.ref, { branch: "main" });
  assert.deepEqual(env.webhookListen, { host: "::1", port: 9000 });
  assert.throws(() => parseRunConfig([], {}), ConfigError);
  assert.throws(() => parseRunConfig(["--repo", "x", "--branch", "a", "--tag", "b"], {}), /exclusive/);
  assert.throws(() => parseRunConfig(["--repo", "x", "--schedule", "every minute"], {}), /cron/);
  assert.throws(() => parseRunConfig(["--repo", "x", "--commit", "abc"], {}), /40-hex/);
  assert.throws(() => parseRunConfig(["--repo", "x", "--drift", "fix"], {}), /heal or report/);
  assert.equal(redactUrl("https://bot:tok@git.example.com/mesh.git"), "https://git.example.com/mesh.git");
});

test("backoff: exponential and capped per cluster", () => {
  const b = new ClusterBackoff({ baseMs: 1000, maxMs: 5000 });
  assert.equal(b.fail("a", "down", 0).until, 1000);
  assert.equal(b.fail("a", "down", 0).until, 2000);
  assert.equal(b.fail("a", "down", 0).until, 4000);
  assert.equal(b.fail("a", "down", 0).until, 5000);
  assert.ok(b.active("a", 4999));
  assert.ok(!b.active("b", 0));
  b.succeed("a");
  assert.ok(!b.active("a", 0));
});

test("loop: never two reconciles at once; triggers during a run coalesce into one more run; an invalid revision is kept out", async () => {
  let syncs = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const text = new TextEncoder().encode(
    "apiVersion: crosslink.dev/v1alpha1\nkind: Topology\nmetadata: {name: x}\nspec: {}\n",
  );
  const source: Source = {
    describe: "fake",
    async sync(): Promise<SourceSnapshot> {
      syncs++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 50));
      inFlight--;
      return { revision: "r1", changed: syncs === 1, topologyPath: "multicluster.yaml", readFile: async () => text };
    },
  };
  const loop = new ReconcileLoop(
    {
      source,
      clients: () => assert.fail("an invalid topology never reaches the clusters"),
      clock: { now: () => new Date() },
      log: createLogger("silent"),
      metrics: new DaemonMetrics(false),
      canWrite: () => true,
      suspended: async () => false,
    },
    {
      drift: "heal",
      driftIntervalMs: 0,
      engine: { fieldManager: "crosslink", concurrency: 1, tokenWaitMs: 0 },
      backoff: { baseMs: 1, maxMs: 1 },
      identity: "t",
      role: "single",
    },
  );
  await Promise.all([loop.trigger("a"), loop.trigger("b"), loop.trigger("c"), loop.trigger("d")]);
  assert.equal(syncs, 2, "one run plus one coalesced follow-up");
  assert.equal(maxInFlight, 1);
  assert.equal(loop.status.rejected?.revision, "r1");
  assert.ok(loop.status.rejected!.diagnostics.length > 0);
  assert.equal(loop.status.revision.lastGood, undefined);
  await loop.stop();
  await loop.trigger("after-stop");
  assert.equal(syncs, 2, "no reconcile after stop");
});

test("drift is due on the first tick, on a watch event, once the interval passed, and when the clock moved back", () => {
  const last = Date.parse("2026-11-23T12:00:00Z");
  const MIN = 60_000;
  assert.equal(driftDue("schedule", undefined, last, 5 * MIN), true, "first tick");
  assert.equal(driftDue("schedule", last, last + 4 * MIN, 5 * MIN), false, "inside the interval");
  assert.equal(driftDue("schedule+watch", last, last + 1000, 5 * MIN), true, "a watch event");
  assert.equal(driftDue("schedule", last, last + 5 * MIN, 5 * MIN), true, "the interval passed");
  assert.equal(driftDue("schedule", last, last - 60 * MIN, 5 * MIN), true, "the clock stepped back an hour");
  assert.equal(driftDue("schedule", last, last + 1000, 0), true, "interval 0: every tick");
});

test("webhook delivery ids: the seen set is bounded: capacity, ten-minute expiry, fixed-size keys", () => {
  let now = 0;
  const log = new DeliveryLog(() => now, 10 * 60_000, 100);
  for (let i = 0; i < 1_000; i++) assert.equal(log.seenBefore(`id-${i}-${"x".repeat(10_000)}`), false);
  assert.equal(log.size, 100);
  assert.equal(log.seenBefore(`id-999-${"x".repeat(10_000)}`), true);
  assert.equal(log.seenBefore(`id-0-${"x".repeat(10_000)}`), false, "the oldest were evicted");
  now += 10 * 60_000;
  assert.equal(log.seenBefore(`id-999-${"x".repeat(10_000)}`), false, "ten minutes later it counts as new");
  assert.ok(log.size <= 2, `expired ids are dropped: ${log.size}`);
});
