/**
 * examples/ci: both pipelines validate and post one plan comment while reading
 * only the repository; the GitLab note script posts once, then updates (against
 * a loopback stand-in for the GitLab API).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { ROOT } from "./support.js";

const CI = path.join(ROOT, "examples", "ci");

test("the GitHub workflow validates, plans with markdown, and reads only the repository", async () => {
  const text = await readFile(path.join(CI, "github-actions.yml"), "utf8");
  const wf = parse(text) as {
    on: object;
    permissions: Record<string, string>;
    jobs: { plan: { steps: { run?: string }[] } };
  };
  assert.ok("pull_request" in wf.on);
  assert.deepEqual(wf.permissions, { contents: "read", "pull-requests": "write" });
  const runs = wf.jobs.plan.steps.map((s) => s.run ?? "").join("\n");
  assert.match(runs, /\$CROSSLINK validate/);
  assert.match(runs, /\$CROSSLINK plan --repo \. --base "\$BASE" --head "\$HEAD" .*--output markdown/);
  const code = text
    .split("\n")
    .filter((l) => !l.trim().startsWith("#"))
    .join("\n");
  assert.doesNotMatch(code, /kubeconfig|--live|secrets\./i, "no cluster access, no secrets beyond the job token");
  assert.match(text, /<!-- crosslink-plan -->/);
});

test("the GitLab job validates and plans; its note script posts once, then updates the same note", async () => {
  const job = (parse(await readFile(path.join(CI, "gitlab-ci.yml"), "utf8")) as Record<string, { script: string[] }>)[
    "crosslink-plan"
  ]!;
  assert.match(
    job.script.join("\n"),
    /validate[\s\S]*plan --repo \. --base "\$BASE" --head "\$CI_COMMIT_SHA"[\s\S]*gitlab-note\.mjs/,
  );

  const notes: { id: number; body: string; system: boolean }[] = [{ id: 1, body: "LGTM", system: false }];
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      calls.push(`${req.method} ${req.url}`);
      assert.equal(req.headers["private-token"], "t0ken");
      if (req.method === "GET") return res.end(JSON.stringify(notes));
      const payload = JSON.parse(body) as { body: string };
      if (req.method === "POST") notes.push({ id: notes.length + 1, body: payload.body, system: false });
      else notes.find((n) => req.url!.endsWith(`/${n.id}`))!.body = payload.body;
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as AddressInfo).port;
    const dir = await mkdtemp(path.join(os.tmpdir(), "crosslink-ci-"));
    const run = async (text: string) => {
      writeFileSync(path.join(dir, "plan.md"), text);
      await promisify(execFile)(process.execPath, [path.join(CI, "gitlab-note.mjs"), path.join(dir, "plan.md")], {
        env: {
          CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4`,
          CI_PROJECT_ID: "group/mesh",
          CI_MERGE_REQUEST_IID: "7",
          CROSSLINK_NOTE_TOKEN: "t0ken",
          PATH: process.env.PATH ?? "",
        },
      });
    };
    await run("<!-- crosslink-plan -->\nfirst");
    await run("<!-- crosslink-plan -->\nsecond");
    assert.deepEqual(
      notes.map((n) => n.body),
      ["LGTM", "<!-- crosslink-plan -->\nsecond"],
    );
    assert.deepEqual(
      calls.filter((c) => !c.startsWith("GET")),
      [
        "POST /api/v4/projects/group%2Fmesh/merge_requests/7/notes",
        "PUT /api/v4/projects/group%2Fmesh/merge_requests/7/notes/2",
      ],
    );
  } finally {
    server.close();
  }
});
