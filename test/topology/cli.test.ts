import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./helpers.js";

const run = promisify(execFile);

async function crosslink(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, "bin/crosslink.js"), ...args], {
      cwd: ROOT,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("validate: a good example exits 0 with a summary", async () => {
  const r = await crosslink("validate", "examples/podinfo-split/multicluster.yaml");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, "examples/podinfo-split/multicluster.yaml: valid (2 clusters, 2 links, 1 export, 1 split)\n");
});

test("validate -f: an invalid file exits 1 with located diagnostics and hints", async () => {
  const file = "test/fixtures/topology/invalid/split-without-link.yaml";
  const r = await crosslink("validate", "-f", file);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`^${file}:13:16: warning XL215: `, "m"));
  assert.match(r.stdout, new RegExp(`^${file}:22:20: error XL206: remote backend in \`workload2\` needs a link`, "m"));
  assert.match(r.stdout, /^ {2}hint: add to spec.links: \{ from: workload1, to: workload2 \}$/m);
  assert.match(r.stdout, /invalid \(1 error, 1 warning\)/);
});

test("validate --output json", async () => {
  const r = await crosslink("validate", "--output", "json", "test/fixtures/topology/invalid/links-bad-refs.yaml");
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as {
    file: string;
    valid: boolean;
    diagnostics: { code: string; line: number; col: number }[];
  };
  assert.equal(out.valid, false);
  assert.equal(out.file, "test/fixtures/topology/invalid/links-bad-refs.yaml");
  assert.deepEqual(
    out.diagnostics.map((d) => `${d.code}@${d.line}:${d.col}`),
    ["XL202@13:11", "XL203@15:11"],
  );
  const ok = await crosslink("validate", "-o", "json", "examples/east-west/multicluster.yaml");
  assert.equal(ok.code, 0);
  assert.deepEqual(JSON.parse(ok.stdout), {
    file: "examples/east-west/multicluster.yaml",
    valid: true,
    diagnostics: [],
  });
});

test("validate: a missing file, and the default ./multicluster.yaml", async () => {
  const r = await crosslink("validate", "no/such/file.yaml");
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^no\/such\/file\.yaml:1:1: error XL100: cannot read/m);
  const cwd = path.join(ROOT, "examples/east-west");
  const { stdout } = await run(process.execPath, [path.join(ROOT, "bin/crosslink.js"), "validate"], { cwd });
  assert.equal(stdout, "multicluster.yaml: valid (2 clusters, 1 link, 1 export, 0 splits)\n");
});

test("validate: usage errors exit 2", async () => {
  assert.equal((await crosslink("validate", "--output", "xml")).code, 2);
  assert.equal((await crosslink("validate", "--bogus")).code, 2);
  const help = await crosslink("validate", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: crosslink validate/);
});
