/**
 * A kubeconfig cluster's `proxy-url` is honoured, as kubectl honours it:
 * requests, writes and watches of a harness cluster go through an HTTP
 * CONNECT proxy or a SOCKS5 server on loopback (each counts its tunnels and
 * their targets), TLS to the API server staying end to end. A proxy that is
 * down is an unreachable cluster whose error leaves the proxy's password out;
 * a scheme crosslink cannot speak is KUBE_INVALID at once, with no retry.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseDocument } from "yaml";
import { clientForContext, loadKubeConfig } from "../../src/kube/access.js";
import { KubeError } from "../../src/kube/errors.js";
import type { HttpClusterClient } from "../../src/kube/http-client.js";
import type { WatchEvent } from "../../src/kube/port.js";
import { startConnectProxy, startSocks5Proxy, type ForwardProxy } from "../support/forward-proxies.js";
import { waitFor } from "../support/wait.js";
import { useClusters } from "./support.js";

const fx = useClusters(["solo"], "east-west", () => ({ seed: false }));
let tmp: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-proxy-url-"));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A client of the harness cluster through a kubeconfig whose cluster names `proxyUrl`. */
async function clientVia(proxyUrl: string): Promise<HttpClusterClient> {
  const doc = parseDocument(await readFile(fx.clusters.kubeconfigPath, "utf8"));
  doc.setIn(["clusters", 0, "cluster", "proxy-url"], proxyUrl);
  const file = path.join(tmp, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, doc.toString(), { mode: 0o600 });
  const client = clientForContext(loadKubeConfig(file), "solo", "solo", {
    attempts: 2,
    baseDelayMs: 10,
    timeoutMs: 5_000,
  })!;
  client.discoveryTtlMs = 0;
  return client;
}

/** The API server's `host:port`, as a tunnel asks for it. */
const apiServer = () => new URL(fx.clusters.clusters[0]!.server).host;

/** LIST, SSA write, GET and a watch that sees the write, all through `proxy`. */
async function throughProxy(proxy: ForwardProxy): Promise<void> {
  const client = await clientVia(proxy.url);
  try {
    const namespaces = await client.list("v1", "Namespace");
    assert.ok(namespaces.some((n) => n.metadata.name === "default"));
    const cm = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `via-${new URL(proxy.url).protocol.slice(0, -1)}`, namespace: "default" },
      data: { through: proxy.url },
    };
    await client.apply(cm, { fieldManager: "proxy-test" });
    assert.equal(
      (
        (await client.get({ ...cm, name: cm.metadata.name, namespace: "default" }))?.data as
          Record<string, string> | undefined
      )?.through,
      proxy.url,
    );

    const stop = new AbortController();
    const seen: WatchEvent[] = [];
    await client
      .watch(
        "v1",
        "ConfigMap",
        { namespace: "default", resourceVersion: "0", timeoutSeconds: 10, signal: stop.signal },
        (e) => {
          seen.push(e);
          if (e.object.metadata.name === cm.metadata.name) stop.abort();
        },
      )
      .catch((err: unknown) => {
        if (!(err instanceof KubeError && err.code === "KUBE_ABORTED")) throw err;
      });
    assert.ok(
      seen.some((e) => e.type === "ADDED" && e.object.metadata.name === cm.metadata.name),
      "the watch saw the write",
    );
    assert.ok(client.counters.requests >= 4);
    assert.ok(proxy.tunnels.length >= 2, `tunnels: ${proxy.tunnels.join(", ")}`);
    assert.deepEqual(new Set(proxy.tunnels), new Set([apiServer()]), "every tunnel goes to the API server");
    console.log(
      `${proxy.url}: ${client.counters.requests} requests (watch included) over ${proxy.tunnels.length} tunnel(s) to ${apiServer()}`,
    );
  } finally {
    client.close();
  }
}

test("proxy-url http://: requests, writes and watches go through the CONNECT proxy", async () => {
  const proxy = await startConnectProxy();
  try {
    await throughProxy(proxy);
  } finally {
    await proxy.stop();
  }
});

test("proxy-url socks5://: requests, writes and watches go through the SOCKS5 server", async () => {
  const proxy = await startSocks5Proxy();
  try {
    await throughProxy(proxy);
  } finally {
    await proxy.stop();
  }
});

test("kept-alive sockets left idle are closed after idleSocketMs (seen as the proxy's open connections)", async () => {
  const proxy = await startConnectProxy();
  const client = await clientVia(proxy.url);
  client.idleSocketMs = 300;
  try {
    await Promise.all(Array.from({ length: 4 }, () => client.list("v1", "Namespace")));
    const busy = proxy.open();
    assert.ok(busy >= 1, `connections open after the burst: ${busy}`);
    const t0 = Date.now();
    await waitFor("idle sockets closed", () => proxy.open() === 0, 5_000, 20);
    console.log(`${busy} kept-alive connection(s) closed ${Date.now() - t0} ms after the burst (idleSocketMs 300)`);
    await client.list("v1", "Namespace");
    assert.equal(proxy.open(), 1, "the next request opens a new one");
  } finally {
    client.close();
    await proxy.stop();
  }
});

test("a proxy that is down makes the cluster unreachable, and its password never shows", async () => {
  const proxy = await startConnectProxy();
  const port = new URL(proxy.url).port;
  await proxy.stop();
  const client = await clientVia(`http://crosslink:s3cret-pw@127.0.0.1:${port}`);
  try {
    const err = await client.list("v1", "Namespace").then(
      () => assert.fail("listed through a proxy that is down"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeError);
    assert.equal(err.code, "KUBE_UNREACHABLE");
    assert.doesNotMatch(err.message, /s3cret-pw/);
    assert.match(err.message, /unreachable through proxy http:\/\/127\.0\.0\.1:\d+\/?: connect ECONNREFUSED/);
    console.log(`proxy down: ${err.message}`);
  } finally {
    client.close();
  }
});

test("a proxy-url scheme crosslink cannot speak is KUBE_INVALID at once, naming the scheme, with no request sent", async () => {
  const client = await clientVia("ftp://crosslink:s3cret-pw@127.0.0.1:2121");
  try {
    const err = await client.list("v1", "Namespace").then(
      () => assert.fail("listed through an ftp proxy"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeError);
    assert.equal(err.code, "KUBE_INVALID");
    assert.match(err.message, /scheme ftp: is not supported/);
    assert.doesNotMatch(err.message, /s3cret-pw/);
    assert.equal(client.counters.retries, 0);
  } finally {
    client.close();
  }
});
