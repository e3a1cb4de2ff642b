/**
 * Issue 9, item 9: terminal escapes. Control characters from input (YAML
 * keys and values, file names, commit subjects, cluster errors) are escaped
 * in human and markdown output and in `crosslink status`; JSON output stays
 * valid JSON holding the original text.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { describeRun, runCli } from "./cli-run.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "crosslink-item09-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const ESC = "\u001b";
const FAKE = `${ESC}[2J${ESC}[31mFAKE: all good`;
// Every character a terminal acts on: C0 and C1 controls, DEL, bidirectional overrides.
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

test("validate: a YAML key and value holding escape sequences are printed escaped; JSON keeps them, valid", async () => {
  const file = path.join(dir, "escape.yaml");
  writeFileSync(
    file,
    `apiVersion: crosslink.dev/v1alpha1\nkind: Topology\nmetadata: {name: t}\nspec:\n  "\\e[2J\\e[31mFAKE: all good": 1\n  clusters:\n    - name: "bell\\a\\u202eevil"\n`,
  );
  const r = await runCli(["validate", file]);
  assert.equal(r.code, 1, describeRun(r));
  assert.doesNotMatch(r.stdout, CONTROLS, JSON.stringify(r.stdout));
  assert.ok(r.stdout.includes("\\e[2J\\e[31mFAKE: all good"), r.stdout);
  assert.ok(r.stdout.includes("bell\\u0007\\u202eevil"), r.stdout);

  const j = await runCli(["validate", "--output", "json", file]);
  const parsed = JSON.parse(j.stdout) as { diagnostics: { message: string }[] };
  assert.ok(
    parsed.diagnostics.some((d) => d.message.includes(FAKE)),
    j.stdout,
  );
});

test("validate: a file name holding escape sequences is printed escaped", async () => {
  const file = path.join(dir, `x${ESC}]0;pwned${"\u0007"}.yaml`);
  writeFileSync(file, "a: [\n");
  const r = await runCli(["validate", file]);
  assert.equal(r.code, 1, describeRun(r));
  assert.doesNotMatch(r.stdout, CONTROLS, JSON.stringify(r.stdout));
  assert.ok(r.stdout.includes("x\\e]0;pwned\\x07.yaml"), r.stdout);
});

test("status: commit subjects, diagnostics and cluster errors from a daemon are printed escaped", async () => {
  const status: DaemonStatus = {
    version: 1,
    source: "http://127.0.0.1/repo.git",
    role: "single",
    identity: "test",
    suspended: false,
    drift: "heal",
    ready: true,
    revision: { head: "a".repeat(40), lastGood: "b".repeat(40), message: `fix${ESC}[2J${ESC}[32m all green` },
    rejected: {
      revision: "a".repeat(40),
      reason: "invalid",
      since: "2026-01-01T00:00:00Z",
      message: `bad${ESC}c`,
      diagnostics: [
        {
          severity: "error",
          code: "XL110",
          message: `spec.${FAKE}: unknown field`,
          hint: `drop${ESC}[8m it`,
          file: `multi${ESC}[1Acluster.yaml`,
          line: 5,
          col: 3,
        },
      ],
    } as DaemonStatus["rejected"],
    fetch: { lastAt: "2026-01-01T00:00:00Z", ok: false, error: `fetch${ESC}[2Kfailed` },
    clusters: [
      {
        name: "east",
        state: "unreachable",
        planned: 0,
        applied: 0,
        failed: 0,
        error: `cluster said ${ESC}]8;;http://x${ESC}\\link`,
      } as DaemonStatus["clusters"][number],
    ],
    lastErrors: [{ at: "2026-01-01T00:00:00Z", message: `err${"\u009b"}31m`, cluster: "east" }],
    reconciles: 1,
  };
  const server = createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(status));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await runCli(["status", "--url", url]);
  assert.doesNotMatch(r.stdout, CONTROLS, JSON.stringify(r.stdout));
  for (const shown of [
    "fix\\e[2J\\e[32m all green",
    "\\e[2J\\e[31mFAKE",
    "multi\\e[1Acluster.yaml",
    "fetch\\e[2Kfailed",
    "cluster said \\e]8;;http://x\\e\\link",
    "err\\x9b31m",
  ]) {
    assert.ok(r.stdout.includes(shown), `${shown} in ${r.stdout}`);
  }
  const j = await runCli(["status", "--url", url, "--output", "json"]);
  assert.deepEqual((JSON.parse(j.stdout) as DaemonStatus).revision.message, status.revision.message);
});
