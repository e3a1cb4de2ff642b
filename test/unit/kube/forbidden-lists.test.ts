/** The memory of refused LISTs: kept only when asked, only for 403, per scope and per instance. */
import assert from "node:assert/strict";
import test from "node:test";
import { KubeError } from "../../../src/kube/errors.js";
import { ForbiddenLists, REFUSAL_MEMORY_MS } from "../../../src/kube/forbidden-lists.js";

/** A LIST that fails with `code` and counts its calls. */
function failing(code: "KUBE_FORBIDDEN" | "KUBE_TIMEOUT") {
  const calls = { n: 0 };
  const list = async (): Promise<string[]> => {
    calls.n++;
    throw new KubeError(code, "list ConfigMap: refused", "c1", code === "KUBE_FORBIDDEN" ? 403 : undefined);
  };
  return { calls, list };
}

const code = (want: string) => (err: unknown) => err instanceof KubeError && err.code === want;

test("a refused LIST the caller asked to remember is refused again unsent; another scope is still asked", async () => {
  const memory = new ForbiddenLists(() => "c1");
  const { calls, list } = failing("KUBE_FORBIDDEN");
  await assert.rejects(memory.run("ns-a", true, "list ConfigMap", list), code("KUBE_FORBIDDEN"));
  await assert.rejects(memory.run("ns-a", true, "list ConfigMap", list), (err: unknown) => {
    assert.ok(err instanceof KubeError && err.code === "KUBE_FORBIDDEN" && err.cluster === "c1");
    assert.match(err.message, /refused earlier, not asked again/);
    return true;
  });
  assert.equal(calls.n, 1);
  await assert.rejects(memory.run("ns-b", true, "list ConfigMap", list), code("KUBE_FORBIDDEN"));
  assert.equal(calls.n, 2);
  // Without the flag the scope is asked every time, and a new instance remembers nothing.
  await assert.rejects(memory.run("ns-a", undefined, "list ConfigMap", list), code("KUBE_FORBIDDEN"));
  await assert.rejects(new ForbiddenLists(() => "c1").run("ns-a", true, "list ConfigMap", list));
  assert.equal(calls.n, 4);
});

test("other failures and successes are not remembered", async () => {
  const memory = new ForbiddenLists(() => "c1");
  const { calls, list } = failing("KUBE_TIMEOUT");
  await assert.rejects(memory.run("ns-a", true, "list ConfigMap", list), code("KUBE_TIMEOUT"));
  await assert.rejects(memory.run("ns-a", true, "list ConfigMap", list), code("KUBE_TIMEOUT"));
  assert.equal(calls.n, 2);
  assert.deepEqual(await memory.run("ns-a", true, "list ConfigMap", async () => ["x"]), ["x"]);
  assert.deepEqual(await memory.run("ns-a", true, "list ConfigMap", async () => ["y"]), ["y"]);
});

test("a remembered refusal lasts REFUSAL_MEMORY_MS, then the LIST is asked again (RBAC may have changed)", async () => {
  let now = 1_000;
  const memory = new ForbiddenLists(
    () => "c1",
    () => now,
  );
  const { calls, list } = failing("KUBE_FORBIDDEN");
  await assert.rejects(memory.run("ns-a", true, "list ConfigMap", list), code("KUBE_FORBIDDEN"));
  now += REFUSAL_MEMORY_MS - 1;
  await assert.rejects(memory.run("ns-a", true, "list ConfigMap", list), code("KUBE_FORBIDDEN"));
  assert.equal(calls.n, 1, "still remembered");
  now += 1;
  assert.deepEqual(await memory.run("ns-a", true, "list ConfigMap", async () => ["granted"]), ["granted"]);
  await assert.rejects(memory.run("ns-a", true, "list ConfigMap", list), code("KUBE_FORBIDDEN"));
  assert.equal(calls.n, 2, "a success forgets nothing new; the next refusal is asked and remembered again");
});
