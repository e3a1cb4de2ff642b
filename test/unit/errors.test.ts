/** Every typed error derives from CrosslinkError and serialises to code, message, hint and data. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import { ConfigError } from "../../src/daemon/config.js";
import { CrosslinkError } from "../../src/errors.js";
import { KubeError } from "../../src/kube/errors.js";
import { SourceError } from "../../src/source/errors.js";
import { GitSourceError } from "../../src/source/git-revision.js";
import { DeadlineError } from "../../src/util/abort.js";
import { repoRoot } from "../support/paths.js";

test("the error classes share the base and its JSON form", () => {
  const cases: [CrosslinkError, string, Record<string, unknown>][] = [
    [
      new KubeError("KUBE_HTTP", "GET /api: 503", "east", 503, 1000),
      "KubeError",
      { cluster: "east", status: 503, retryAfterMs: 1000 },
    ],
    [new KubeError("KUBE_TIMEOUT", "east: timed out", "east"), "KubeError", { cluster: "east" }],
    [new SourceError("SOURCE_SIGNATURE", "abc123: not signed", "abc123"), "SourceError", { revision: "abc123" }],
    [
      new GitSourceError("UNKNOWN_REVISION", "repo: no revision x", "fetch it", { rev: "x" }),
      "GitSourceError",
      { rev: "x" },
    ],
    [new ConfigError("--schedule: not a cron expression"), "ConfigError", {}],
    [new DeadlineError(10_000, "GET /api/v1/namespaces"), "DeadlineError", { ms: 10_000 }],
  ];
  for (const [err, name, data] of cases) {
    assert.ok(err instanceof CrosslinkError && err instanceof Error, name);
    assert.equal(err.name, name);
    const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
    assert.deepEqual(json.data, data, name);
    assert.equal(json.code, err.code);
    assert.equal(json.message, err.message);
    assert.equal(json.name, name);
    assert.equal("stack" in json, false);
  }
  const git = new GitSourceError("FILE_MISSING", "m", "add the file");
  assert.equal(git.hint, "add the file");
  assert.equal((JSON.parse(JSON.stringify(git)) as { hint: string }).hint, "add the file");
});

test("no error class in src/ extends Error directly, except the base", () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (
        p.endsWith(".ts") &&
        /class \w+ extends Error\b/.test(readFileSync(p, "utf8")) &&
        !p.endsWith(path.join("src", "errors.ts"))
      )
        offenders.push(p);
    }
  };
  walk(path.join(repoRoot, "src"));
  assert.deepEqual(offenders, []);
});
