/**
 * Issue 9, item 3: unbounded reads. `validate` of a device or FIFO, and
 * trust anchor `file:` paths that lead to devices, FIFOs or out of the
 * topology's root (`..`, absolute paths, symbolic links), are refused with a
 * located diagnostic, before any read, without hanging or growing memory.
 * The local-directory source does not follow links out of its root.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { LocalSource } from "../../src/source/local.js";
import { describeRun, logRun, ROOT, runCli } from "./cli-run.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "crosslink-item03-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const anchorPem = readFileSync(path.join(ROOT, "examples/east-west/anchors/root.crt"), "utf8");
const fifo = path.join(dir, "fifo");
execFileSync("mkfifo", [fifo]);
const outsideDir = mkdtempSync(path.join(os.tmpdir(), "crosslink-item03-outside-"));
after(() => rmSync(outsideDir, { recursive: true, force: true }));
writeFileSync(path.join(outsideDir, "secret.crt"), anchorPem);

function topology(anchorFile: string): string {
  return `apiVersion: crosslink.dev/v1alpha1\nkind: Topology\nmetadata: {name: t}\nspec:\n  trustAnchors:\n    - name: root\n      file: ${anchorFile}\n  clusters:\n    - name: east\n`;
}

const LIMIT = { limitMs: 60_000 };
const DEVICE_LIMIT = { limitMs: 15_000 }; // before the fix, /dev/zero grew by ~180 MB a second

// stdin of the child: a FIFO this process holds open for writing, so a read of /dev/stdin would never end.
const stdinFifo = path.join(dir, "stdin-fifo");
execFileSync("mkfifo", [stdinFifo]);
const stdinFd = openSync(stdinFifo, "r+");
after(() => closeSync(stdinFd));

for (const device of ["/dev/zero", fifo, "/dev/stdin"]) {
  test(`validate ${path.basename(device)}: refused before reading, quickly and in little memory`, async () => {
    const r = await runCli(["validate", device], { ...DEVICE_LIMIT, stdin: stdinFd });
    logRun(`validate ${device}`, r);
    assert.equal(r.killed, false, describeRun(r));
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stdout, /error XL100: cannot read .*not a regular file/, describeRun(r));
    assert.ok((r.maxRssMiB ?? Infinity) < 200, describeRun(r));
  });
}

test("trust anchor file: outside the root, absolute, a link out, a FIFO and a device are located errors", async () => {
  const sub = path.join(dir, "repo");
  mkdirSync(path.join(sub, "anchors"), { recursive: true });
  writeFileSync(path.join(sub, "anchors/root.crt"), anchorPem);
  symlinkSync(path.join(outsideDir, "secret.crt"), path.join(sub, "anchors/link.crt"));
  symlinkSync(fifo, path.join(sub, "anchors/fifo.crt"));
  const cases: [string, RegExp][] = [
    ["../../../etc/passwd", /7:13: error XL309: trust anchor `root`: file \.\.\/\.\.\/\.\.\/etc\/passwd leads out of/],
    ["/etc/passwd", /7:13: error XL309: .*is an absolute path/],
    ["/dev/zero", /7:13: error XL309: .*is an absolute path/],
    ["anchors/link.crt", /7:13: error XL309: .*symbolic link/],
    ["anchors/fifo.crt", /7:13: error XL30[19]: /],
  ];
  for (const [file, expected] of cases) {
    writeFileSync(path.join(sub, "multicluster.yaml"), topology(file));
    const r = await runCli(["validate", path.join(sub, "multicluster.yaml")], LIMIT);
    logRun(`anchor file: ${file}`, r);
    assert.equal(r.killed, false, `${file}: ${describeRun(r)}`);
    assert.equal(r.code, 1, `${file}: ${describeRun(r)}`);
    assert.match(r.stdout, expected, `${file}: ${describeRun(r)}`);
    assert.ok((r.maxRssMiB ?? Infinity) < 200, `${file}: ${describeRun(r)}`);
  }
  writeFileSync(path.join(sub, "multicluster.yaml"), topology("anchors/root.crt"));
  const ok = await runCli(["validate", path.join(sub, "multicluster.yaml")], LIMIT);
  assert.equal(ok.code, 0, describeRun(ok));
});

test("a FIFO anchor in a directory with no other way out does not hang", async () => {
  const sub = path.join(dir, "fifo-anchor");
  mkdirSync(sub);
  execFileSync("mkfifo", [path.join(sub, "root.crt")]);
  writeFileSync(path.join(sub, "multicluster.yaml"), topology("root.crt"));
  const r = await runCli(["validate", path.join(sub, "multicluster.yaml")], LIMIT);
  assert.equal(r.killed, false, describeRun(r));
  assert.match(r.stdout, /7:13: error XL301: .*not a regular file/, describeRun(r));
});

test("the local-directory source refuses links out of its root", async () => {
  const root = path.join(dir, "local");
  mkdirSync(root);
  writeFileSync(path.join(root, "multicluster.yaml"), topology("root.crt"));
  symlinkSync(path.join(outsideDir, "secret.crt"), path.join(root, "root.crt"));
  const snapshot = await new LocalSource(root).sync();
  await assert.rejects(snapshot.readFile("root.crt"), (e: { code?: string }) => e.code === "EOUTSIDE");
  await assert.rejects(
    snapshot.readFile(path.relative(root, path.join(outsideDir, "secret.crt"))),
    (e: { code?: string }) => e.code === "EOUTSIDE",
  );

  const linked = path.join(dir, "local-linked-topology");
  mkdirSync(linked);
  symlinkSync(path.join(outsideDir, "secret.crt"), path.join(linked, "multicluster.yaml"));
  await assert.rejects(new LocalSource(linked).sync(), /outside/);
});
