/**
 * The reflector's recovery logic with a scripted client (recorded events, no server): a 410 Gone relists and
 * reports the change made during the gap; a broken stream re-watches from the last version with backoff; close()
 * stops it all. The same paths against real API servers: test/daemon/watch.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeError } from "../../../src/kube/errors.js";
import { REFUSAL_MEMORY_MS } from "../../../src/kube/forbidden-lists.js";
import type { KubeObject } from "../../../src/kube/object.js";
import type { ListOptions, VersionedList, WatchEvent, WatchOptions } from "../../../src/kube/port.js";
import { CachedClusterClient, type WatchState, type WatchableClient } from "../../../src/kube/watch-cache.js";

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "ns", resourceVersion: rv },
});

/** A client playing back a script: each LIST answers the next listed state, each WATCH the next step. */
function scripted(
  lists: VersionedList[],
  watches: ((opts: WatchOptions, emit: (e: WatchEvent) => void) => Promise<void>)[],
): WatchableClient & { watchedFrom: string[]; lists: number } {
  const unsupported = () => Promise.reject(new Error("not in the script"));
  const c = {
    cluster: "c",
    server: "https://127.0.0.1:1",
    counters: { requests: 0, writes: 0, retries: 0, byVerb: {} },
    watchedFrom: [] as string[],
    lists: 0,
    listVersioned: async (_a: string, _k: string, _o?: ListOptions) => lists[Math.min(c.lists++, lists.length - 1)]!,
    watch: async (_a: string, _k: string, opts: WatchOptions, onEvent: (e: WatchEvent) => void) => {
      c.watchedFrom.push(opts.resourceVersion);
      const step = watches.shift();
      if (!step)
        return new Promise<void>((_, reject) =>
          opts.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
        );
      opts.onOpen?.();
      return step(opts, onEvent);
    },
    get: unsupported,
    list: unsupported,
    apply: unsupported,
    delete: unsupported,
    patch: unsupported,
    createToken: unsupported,
    servedVersions: unsupported,
    discovery: unsupported,
  };
  return c as unknown as WatchableClient & { watchedFrom: string[]; lists: number };
}

const until = async (what: string, fn: () => boolean) => {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(fn(), what);
};

test("410 Gone: relist, the change made in the gap is reported; then watch from the new list's version", async () => {
  const client = scripted(
    [
      { items: [cm("a", "5")], resourceVersion: "10" },
      { items: [cm("a", "7"), cm("b", "8")], resourceVersion: "20" },
    ],
    [
      async (_o, emit) =>
        emit({ type: "BOOKMARK", object: { ...cm("", "12"), metadata: { name: "", resourceVersion: "12" } } }),
      async () => {
        throw new KubeError("KUBE_GONE", "watch ConfigMap: 410 too old resource version", "c", 410);
      },
    ],
  );
  const changes: string[] = [];
  const states: WatchState[] = [];
  const cache = new CachedClusterClient(
    client,
    { onChange: (_c, s) => changes.push(s.kind), onState: (s) => states.push({ ...s }) },
    { backoff: { baseMs: 10, maxMs: 20 } },
  );
  assert.deepEqual(
    (await cache.list("v1", "ConfigMap", { namespace: "ns" })).map((o) => o.metadata.name),
    ["a"],
  );
  await until("relisted", () => client.lists === 2 && client.watchedFrom.length >= 3);
  assert.deepEqual(client.watchedFrom.slice(0, 3), ["10", "12", "20"], "bookmark moved the version; relist reset it");
  assert.deepEqual(changes, ["ConfigMap"], "one change: the relist found a and b changed");
  const items = await cache.list("v1", "ConfigMap", { namespace: "ns" });
  assert.deepEqual(
    items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`),
    ["a@7", "b@8"],
  );
  assert.equal(cache.watches()[0]!.relists, 1);
  cache.close();
  assert.equal(states.at(-1)!.up, false);
});

test("a broken stream: re-watched from the last version seen, after a backoff, restarts counted", async () => {
  const client = scripted(
    [{ items: [], resourceVersion: "1" }],
    [
      async (_o, emit) => {
        emit({ type: "ADDED", object: cm("x", "2") });
        throw new KubeError("KUBE_UNREACHABLE", "watch ConfigMap: stream cut", "c");
      },
      async () => {
        throw new KubeError("KUBE_UNREACHABLE", "watch ConfigMap: refused", "c");
      },
      async (_o, emit) => emit({ type: "MODIFIED", object: cm("x", "3") }),
    ],
  );
  const cache = new CachedClusterClient(client, {}, { backoff: { baseMs: 20, maxMs: 40 } });
  const t0 = Date.now();
  await cache.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "x" });
  await until("three watches", () => client.watchedFrom.length >= 4);
  assert.deepEqual(client.watchedFrom.slice(0, 4), ["1", "2", "2", "3"]);
  assert.ok(Date.now() - t0 >= 20 + 40, "two backoffs: 20 ms then 40 ms");
  const w = cache.watches()[0]!;
  assert.equal(w.restarts, 2);
  assert.equal(w.fieldSelector, "metadata.name=x");
  assert.match(w.lastError ?? "", /refused/);
  assert.equal(
    (await cache.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "x" }))?.metadata.resourceVersion,
    "3",
  );
  cache.close();
});

test("a name whose LIST is refused (403) is read by GET, the LIST not asked again; a GET refused too fails", async () => {
  const client = scripted([{ items: [], resourceVersion: "1" }], []);
  const asked = { lists: [] as string[], gets: [] as string[] };
  const forbidden = (what: string) => new KubeError("KUBE_FORBIDDEN", `${what}: forbidden`, "c", 403);
  client.listVersioned = async (_a, _k, o) => {
    asked.lists.push(o?.fieldSelector ?? "");
    throw forbidden("list ConfigMap");
  };
  client.get = async (ref) => {
    asked.gets.push(ref.name);
    if (ref.name === "denied") throw forbidden("get ConfigMap");
    return cm(ref.name, "5");
  };
  const states: [WatchState, false | "closed" | "unused"][] = [];
  const cache = new CachedClusterClient(client, { onState: (s, stopped) => states.push([{ ...s }, stopped]) });
  const ref = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name });
  assert.equal(cache.readsByGet(), false);

  assert.equal((await cache.get(ref("a")))?.metadata.resourceVersion, "5");
  assert.deepEqual(asked, { lists: ["metadata.name=a"], gets: ["a"] }, "the refused LIST, then a GET");
  assert.equal(cache.readsByGet(), true);
  const [w] = cache.watches();
  assert.equal(w?.readBy, "get (list refused)");
  assert.equal(w?.fieldSelector, "metadata.name=a");
  assert.equal(w?.up, false);
  assert.equal(w?.objects, 1);
  assert.equal(w?.resourceVersion, "5");

  assert.equal((await cache.get(ref("a")))?.metadata.name, "a");
  assert.deepEqual(asked, { lists: ["metadata.name=a"], gets: ["a", "a"] }, "a GET only");

  await assert.rejects(cache.get(ref("denied")), (e: unknown) => e instanceof KubeError && e.code === "KUBE_FORBIDDEN");
  assert.deepEqual(asked.lists, ["metadata.name=a", "metadata.name=denied"]);
  assert.deepEqual(asked.gets, ["a", "a", "denied"]);

  cache.close();
  const released = states.filter(([s, stopped]) => stopped && s.readBy).map(([s]) => s.fieldSelector);
  assert.deepEqual(released.sort(), ["metadata.name=a", "metadata.name=denied"], "close() releases their states");
  assert.equal(cache.readsByGet(), false);
});

test("a LIST that fails otherwise than 403 stays an error: no GET", async () => {
  const client = scripted([{ items: [], resourceVersion: "1" }], []);
  let gets = 0;
  client.listVersioned = async () => {
    throw new KubeError("KUBE_UNREACHABLE", "list ConfigMap: connection refused", "c");
  };
  client.get = async () => {
    gets++;
    return undefined;
  };
  const cache = new CachedClusterClient(client);
  await assert.rejects(
    cache.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "a" }),
    (e: unknown) => e instanceof KubeError && e.code === "KUBE_UNREACHABLE",
  );
  assert.equal(gets, 0);
  assert.equal(cache.readsByGet(), false);
  cache.close();
});

test("releaseUnread: the watches no read used since markReads are released (reported `unused`), the others kept; a released scope read again LISTs again", async () => {
  const client = scripted([{ items: [cm("a", "1")], resourceVersion: "1" }], []);
  const stopped: (string | false)[] = [];
  const cache = new CachedClusterClient(client, { onState: (s, why) => why && stopped.push(`${s.namespace}:${why}`) });
  await cache.list("v1", "ConfigMap", { namespace: "ns" });
  await cache.list("v1", "ConfigMap", { namespace: "other" });
  assert.equal(client.lists, 2);
  assert.equal(cache.releaseUnread(), 0, "no markReads yet: every watch was read in the current epoch");
  cache.markReads();
  await cache.list("v1", "ConfigMap", { namespace: "ns" });
  assert.equal(client.lists, 2, "read from the store");
  assert.equal(cache.releaseUnread(), 1);
  assert.deepEqual(stopped, ["other:unused"]);
  assert.deepEqual(
    cache.watches().map((w) => w.namespace),
    ["ns"],
  );
  await cache.list("v1", "ConfigMap", { namespace: "other" });
  assert.equal(client.lists, 3, "the released scope starts again with a LIST");
  cache.close();
  assert.deepEqual(stopped, ["other:unused", "ns:closed", "other:closed"]);
});

test("a name read by GET asks its LIST again after REFUSAL_MEMORY_MS: granted now, its watch takes over; unread, it is released", async () => {
  const client = scripted([{ items: [cm("a", "7")], resourceVersion: "7" }], []);
  let refuse = true;
  let lists = 0;
  const listVersioned = client.listVersioned;
  client.listVersioned = async (a, k, o) => {
    lists++;
    if (refuse) throw new KubeError("KUBE_FORBIDDEN", "list ConfigMap: forbidden", "c", 403);
    return listVersioned(a, k, o);
  };
  let gets = 0;
  client.get = async (ref) => {
    gets++;
    return cm(ref.name, "5");
  };
  let now = 0;
  const stops: string[] = [];
  const cache = new CachedClusterClient(
    client,
    { onState: (s, why) => why && stops.push(`${s.fieldSelector}:${s.readBy ?? "watch"}:${why}`) },
    { now: () => now },
  );
  const ref = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name });
  await cache.get(ref("a"));
  now += REFUSAL_MEMORY_MS - 1;
  await cache.get(ref("a"));
  assert.deepEqual([lists, gets], [1, 2], "inside the memory: GETs only");
  now += 1;
  await cache.get(ref("a"));
  assert.deepEqual([lists, gets], [2, 3], "asked again, refused again: still a GET");
  refuse = false;
  now += REFUSAL_MEMORY_MS;
  assert.equal((await cache.get(ref("a")))?.metadata.resourceVersion, "7", "answered from the watch");
  assert.deepEqual([lists, gets], [3, 3]);
  assert.equal(cache.readsByGet(), false);
  assert.deepEqual(
    stops.filter((x) => x.includes("get (list refused)")),
    ["metadata.name=a:get (list refused):closed"],
    "the GET entry is reported closed once (each refused LIST's short-lived watch is reported too)",
  );
  assert.deepEqual(
    cache.watches().map((w) => [w.fieldSelector, w.readBy]),
    [["metadata.name=a", undefined]],
  );

  // A name read by GET that no read of the epoch used is released like an unused watch.
  refuse = true;
  await cache.get(ref("b"));
  cache.markReads();
  await cache.get(ref("a"));
  assert.equal(cache.releaseUnread(), 1);
  assert.equal(cache.readsByGet(), false);
  assert.deepEqual(stops.at(-1), "metadata.name=b:get (list refused):unused");
  cache.close();
});
