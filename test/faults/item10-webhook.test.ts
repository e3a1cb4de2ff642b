/**
 * Issue 9, item 10: webhook edges, with real HTTP requests against the
 * daemon's real listener (`crosslink run` wiring from createDaemon, a local
 * directory source). A signed body that is not a JSON object gets 400 (it was
 * 500 for `null`); a body over 1 MiB gets 413 with a response body (it was a
 * connection reset); a delivery id seen in the last ten minutes is
 * acknowledged without another reconcile (the seen set's bounds are unit
 * tested in test/daemon/units.test.ts).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseRunConfig } from "../../src/daemon/config.js";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import { signWebhook } from "../../src/daemon/webhook.js";
import { clusterAccess, loadKubeConfig } from "../../src/kube/access.js";
import { ROOT } from "../daemon/support.js";

const SECRET = "item10-secret";
const MiB = 1 << 20;
let tmp: string;
let d: Daemon;
const ticks: string[] = [];

/** A kubeconfig whose clusters answer nothing (port 1 on loopback refuses): reconciles are quick and write nothing. */
function deadKubeconfig(file: string): void {
  const ctx = (name: string) => `- name: ${name}\n  context: { cluster: ${name}, user: u }\n`;
  const cl = (name: string) => `- name: ${name}\n  cluster: { server: "https://127.0.0.1:1" }\n`;
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\ncurrent-context: workload1\nclusters:\n${cl("workload1")}${cl("workload2")}contexts:\n${ctx("workload1")}${ctx("workload2")}users:\n- name: u\n  user: { token: t }\n`,
  );
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "crosslink-item10-"));
  cpSync(path.join(ROOT, "examples", "podinfo-split"), path.join(tmp, "repo"), { recursive: true });
  deadKubeconfig(path.join(tmp, "kubeconfig"));
  writeFileSync(path.join(tmp, "secret"), SECRET + "\n");
  const cfg = parseRunConfig(
    [
      "--repo",
      path.join(tmp, "repo"),
      "--webhook-listen",
      "127.0.0.1:0",
      "--metrics-listen",
      "127.0.0.1:0",
      "--status-detail",
      "--kubeconfig",
      path.join(tmp, "kubeconfig"),
      "--webhook-secret-file",
      path.join(tmp, "secret"),
      "--schedule",
      "0 0 1 1 *",
      "--shutdown-timeout",
      "5s",
    ],
    {},
  );
  assert.ok(cfg !== "help");
  d = await createDaemon(cfg, {
    log: createLogger("silent"),
    clients: (t) =>
      clusterAccess(t, loadKubeConfig(path.join(tmp, "kubeconfig")), {
        attempts: 1,
        baseDelayMs: 10,
        timeoutMs: 1_000,
      }),
  });
  d.loop.onTick((r) => ticks.push(r.trigger));
  await d.start();
  await idle();
});

after(async () => {
  await d?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Waits (bounded) until the loop is idle. */
async function idle(): Promise<void> {
  for (let i = 0; i < 200 && d.loop.busy; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(d.loop.busy, false, "the loop went idle within 10 s");
}

/** A raw POST to /hooks/git; resolves with the status and body, or the socket error's code. */
function post(
  headers: Record<string, string>,
  body: Buffer | string,
  opts: { chunked?: boolean } = {},
): Promise<{ status?: number; body?: string; error?: string }> {
  const url = new URL(`${d.webhookUrl()}/hooks/git`);
  return new Promise((resolve) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "POST",
      headers: opts.chunked ? headers : { ...headers, "Content-Length": String(Buffer.byteLength(body)) },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    if (opts.chunked) {
      const buf = Buffer.from(body);
      for (let i = 0; i < buf.length; i += 64 * 1024) req.write(buf.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

const github = (body: string, extra: Record<string, string> = {}) => ({
  "Content-Type": "application/json",
  "X-GitHub-Event": "push",
  "X-Hub-Signature-256": signWebhook(SECRET, body),
  ...extra,
});

test("a signed body that is not a JSON object is 400, never 500", async () => {
  const seen: Record<string, number | string | undefined> = {};
  for (const body of ["null", "[]", '"main"', "42", "true", "{not json", ""]) {
    const r = await post(github(body), body);
    seen[body || "(empty)"] = r.status ?? r.error;
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status ?? r.error} ${r.body ?? ""}`);
    assert.match(r.body ?? "", /JSON|empty/);
  }
  const gitlab = await post({ "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook" }, "null");
  assert.equal(gitlab.status, 400);
  const generic = await post({ "X-Crosslink-Signature": signWebhook(SECRET, "null") }, "null");
  assert.equal(generic.status, 400);
  await idle();
  assert.deepEqual(
    ticks.filter((t) => t.includes("webhook")),
    [],
    "no reconcile for a refused body",
  );
  console.log(`item10 statuses for non-object bodies: ${JSON.stringify(seen)}`);
});

test("a body over 1 MiB gets 413 with a response body, announced or chunked; 1 MiB exactly is read", async () => {
  const big = Buffer.alloc(MiB + 1, 0x20);
  const announced = await post(github(big.toString()), big);
  assert.equal(announced.status, 413, `Content-Length ${big.length}: ${announced.status ?? announced.error}`);
  assert.match(announced.body ?? "", /body too large/);
  const chunked = await post(github(big.toString()), big, { chunked: true });
  assert.equal(chunked.status, 413, `chunked ${big.length}: ${chunked.status ?? chunked.error}`);
  assert.match(chunked.body ?? "", /body too large/);
  // 1 MiB exactly, a JSON object padded with spaces: accepted
  const exact = Buffer.alloc(MiB, 0x20);
  exact.write('{"ref":"refs/heads/other"}');
  const ok = await post(github(exact.toString()), exact);
  assert.equal(ok.status, 202, ok.body ?? ok.error);
  console.log(
    `item10 oversize: announced ${announced.status ?? announced.error}, chunked ${chunked.status ?? chunked.error}, exactly 1 MiB ${ok.status}`,
  );
});

test("a delivery id seen in the last ten minutes is acknowledged without a new reconcile", async () => {
  await idle();
  const body = JSON.stringify({ ref: "refs/heads/main" });
  const hooks = () => ticks.filter((t) => t.includes("webhook")).length;
  const before = hooks();
  const first = await post(github(body, { "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958" }), body);
  assert.equal(first.status, 202);
  for (let i = 0; i < 200 && hooks() === before; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(hooks(), before + 1, "the first delivery reconciles");
  await idle();
  const again = await post(github(body, { "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958" }), body);
  const gitlabFirst = await post(
    { "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "gl-1" },
    body,
  );
  const gitlabAgain = await post(
    { "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "gl-1" },
    body,
  );
  assert.ok(again.status! >= 200 && again.status! < 300, `redelivery acknowledged: ${again.status}`);
  assert.match(again.body ?? "", /seen before/);
  assert.equal(gitlabFirst.status, 202);
  assert.match(gitlabAgain.body ?? "", /seen before/);
  await new Promise((r) => setTimeout(r, 1_000));
  await idle();
  assert.equal(
    hooks(),
    before + 2,
    `one reconcile per new delivery id, none for the two redeliveries (ticks: ${ticks.join(", ")})`,
  );
  console.log(
    `item10 redelivery: first ${first.status}, again ${again.status} ${again.body?.trim()}, webhook reconciles ${hooks() - before} for 4 requests`,
  );
});
