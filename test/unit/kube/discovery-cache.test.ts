/** The CLI's discovery cache on disk: one file per API server and CA, private, misses on anything unreadable. */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { diskDiscoveryStore } from "../../../src/kube/discovery-cache.js";

test("an answer written for one server and CA is read back for them only", async () => {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), "xl-disc-")), "discovery");
  try {
    const store = diskDiscoveryStore(dir);
    assert.equal(await store.read("https://127.0.0.1:1", "CA"), undefined);
    const value = { at: 1234, groups: { "multicluster.linkerd.io": ["v1alpha3", "v1alpha2"] } };
    await store.write("https://127.0.0.1:1", "CA", value);
    assert.deepEqual(await store.read("https://127.0.0.1:1", "CA"), value);
    assert.equal(await store.read("https://127.0.0.1:1", "another CA"), undefined);
    assert.equal(await store.read("https://127.0.0.1:2", "CA"), undefined);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const [file] = await readdir(dir);
    await writeFile(path.join(dir, file!), "{not json");
    assert.equal(await store.read("https://127.0.0.1:1", "CA"), undefined);
  } finally {
    await rm(path.dirname(dir), { recursive: true, force: true });
  }
});
