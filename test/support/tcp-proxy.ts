/**
 * A TCP proxy on loopback in front of one API server, for fault tests: its
 * connections can be cut (and new ones refused until `listen` again), and the
 * client-to-server direction can be held (requests and PINGs go unanswered
 * while the server's answers and watch events still flow) until `release`.
 */
import net from "node:net";

/** A loopback TCP proxy to one target whose connections can be cut or held. */
export class FaultProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private held?: { to: net.Socket; data: Buffer }[];
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** A proxy to the API server of `serverUrl` (an `https://host:port` URL). */
  static to(serverUrl: string): FaultProxy {
    const url = new URL(serverUrl);
    return new FaultProxy({ host: url.hostname, port: Number(url.port) });
  }

  /** Listens on 127.0.0.1 (`port`, default a free one). */
  async listen(port = 0): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.on("data", (data: Buffer) => {
        if (this.held) this.held.push({ to: upstream, data });
        else upstream.write(data);
      });
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Cuts every connection and refuses new ones until `listen` again. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.held = undefined;
    await closed;
  }

  /** Holds what clients send (connections stay open, nothing reaches the server) until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /** Sends on what was held, in order, and forwards again. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const { to, data } of held) if (!to.destroyed) to.write(data);
  }

  /** How many chunks clients sent while held (0 when not holding). */
  heldChunks(): number {
    return this.held?.length ?? 0;
  }

  /** Open sockets, both sides counted. */
  connections(): number {
    return this.sockets.size;
  }
}
