/**
 * The watch session's health check against a real node:http2 server on
 * loopback, behind a TCP proxy that can freeze (connections stay open,
 * nothing is forwarded: what a SIGSTOPped API server looks like): a healthy
 * idle session sends PINGs and stays up with its one stream; a frozen one is
 * destroyed within readIdle + pingTimeout and its stream fails with the
 * reason; the next request opens a new session. The same against real API
 * servers: test/faults/item11-hung-cluster.test.ts.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { after, before, test } from "node:test";
import { WatchSessions, type PingCounter } from "../../../src/kube/h2-session.js";

/** A TCP proxy whose forwarding can be frozen (sockets kept open, bytes held). */
class FreezingProxy {
  server?: net.Server;
  port = 0;
  private readonly pairs: [net.Socket, net.Socket][] = [];
  frozen = false;

  constructor(private readonly targetPort: number) {}

  async listen(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      for (const s of [client, upstream]) s.on("error", () => s.destroy());
      this.pairs.push([client, upstream]);
      if (this.frozen) return;
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Stops forwarding in both directions; connections stay open. */
  freeze(): void {
    this.frozen = true;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let server: http2.Http2Server;
let port = 0;
let streamsServed = 0;
const open = new Set<http2.ServerHttp2Stream>();

before(async () => {
  server = http2.createServer();
  // A watch that never sends an event: the only frames on an idle session are the PINGs and their acks.
  server.on("stream", (stream) => {
    streamsServed++;
    open.add(stream);
    stream.on("close", () => open.delete(stream));
    stream.on("error", () => {});
    stream.respond({ ":status": 200, "content-type": "application/json" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  for (const s of open) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a healthy idle session is PINGed and stays up; a frozen one is destroyed within readIdle + pingTimeout", async () => {
  const proxy = new FreezingProxy(port);
  await proxy.listen();
  const counter: PingCounter = { pings: 0 };
  const liveness = { readIdleMs: 100, pingTimeoutMs: 300 };
  const sessions = new WatchSessions(`http://127.0.0.1:${proxy.port}`, counter, () => liveness);
  try {
    const stream = sessions.request("/watch", {}, { authorization: "Bearer x" });
    let failed: Error | undefined;
    let closedAt: number | undefined;
    stream.on("error", (e) => (failed = e));
    stream.on("close", () => (closedAt = Date.now()));
    await new Promise((resolve) => stream.once("response", resolve));
    const served = streamsServed;

    // Idle and healthy: PINGs go out (one per idle period, each acked), no other stream is opened, the stream stays.
    await sleep(1_000);
    console.log(
      `idle 1 s: ${counter.pings} PINGs, ${streamsServed - served} streams opened, stream open: ${closedAt === undefined}`,
    );
    assert.ok(counter.pings! >= 4 && counter.pings! <= 11, `${counter.pings} PINGs in 1 s at 100 ms idle`);
    assert.equal(streamsServed - served, 0, "PINGs are not requests");
    assert.equal(closedAt, undefined, "a session whose PINGs are acked stays up");

    // Frozen: the next PING is not acked; the session and its stream are destroyed with the reason.
    const pings = counter.pings!;
    const t0 = Date.now();
    proxy.freeze();
    for (let i = 0; i < 100 && closedAt === undefined; i++) await sleep(20);
    assert.ok(closedAt !== undefined, "the stream failed once the PINGs went unanswered");
    const took = closedAt - t0;
    console.log(
      `frozen: stream failed after ${took} ms (bound ${liveness.readIdleMs + liveness.pingTimeoutMs} ms + timer slack): ${failed?.message}`,
    );
    assert.ok(took <= liveness.readIdleMs + liveness.pingTimeoutMs + 200, `took ${took} ms`);
    assert.match(failed?.message ?? "", /no PING ack in 0\.3 s/);
    assert.equal(counter.pings, pings + 1, "one unanswered PING");

    // A request after the failure opens a new session (through a new, unfrozen connection).
    proxy.frozen = false;
    const again = sessions.request("/watch", {}, {});
    again.on("error", () => {});
    const status = await new Promise<number>((resolve) => again.once("response", (h) => resolve(Number(h[":status"]))));
    assert.equal(status, 200);
    again.close();
  } finally {
    sessions.close();
    await proxy.close();
  }
});

test("a new session to a server that never answers fails its stream within readIdle + pingTimeout", async () => {
  const proxy = new FreezingProxy(port);
  await proxy.listen();
  proxy.frozen = true;
  const sessions = new WatchSessions(`http://127.0.0.1:${proxy.port}`, {}, () => ({
    readIdleMs: 100,
    pingTimeoutMs: 300,
  }));
  try {
    const t0 = Date.now();
    const stream = sessions.request("/watch", {}, {});
    const err = await new Promise<Error | undefined>((resolve) => {
      stream.on("error", resolve);
      stream.on("close", () => resolve(undefined));
    });
    const took = Date.now() - t0;
    console.log(`never answered: failed after ${took} ms: ${err?.message}`);
    assert.ok(took >= 300 && took < 900, `took ${took} ms`);
  } finally {
    sessions.close();
    await proxy.close();
  }
});
