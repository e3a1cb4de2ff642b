// Linkerd's binaries are found (or unpacked) and are the edge-26.8.3 build the conformance tests expect.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { requireLinkerdTools } from "./tools.js";

const run = promisify(execFile);

test("Linkerd's CLI and controller binaries run and report edge-26.8.3", async (t) => {
  const { tools, skip } = await requireLinkerdTools();
  if (!tools) return t.skip(skip);
  const { stdout } = await run(tools.linkerd, ["version", "--client", "--short"], { timeout: 20_000 });
  assert.equal(stdout.trim(), "edge-26.8.3");
  const help = await run(tools.controller, ["service-mirror", "-h"], { timeout: 20_000 }).catch(
    (e: { stderr?: string }) => ({ stdout: "", stderr: e.stderr ?? "" }),
  );
  assert.match(help.stderr + help.stdout, /-probe-service/);
});
