/**
 * Forward proxies on loopback for the kubeconfig `proxy-url` tests: an HTTP
 * proxy that answers CONNECT (as squid or a corporate proxy does) and a
 * SOCKS5 server (no authentication, CONNECT only). Each counts its tunnels
 * and the targets asked for, so a test can tell traffic went through it.
 */
import http from "node:http";
import net from "node:net";

/** A running forward proxy. */
export interface ForwardProxy {
  /** `http://127.0.0.1:port` or `socks5://127.0.0.1:port`. */
  url: string;
  /** Every target (`host:port`) a tunnel was opened to, in order. */
  tunnels: string[];
  /** How many client connections are open now. */
  open(): number;
  stop(): Promise<void>;
}

function tunnel(client: net.Socket, host: string, port: number, open: (upstream: net.Socket) => void): void {
  const upstream = net.connect(port, host, () => open(upstream));
  upstream.on("error", () => client.destroy());
  client.on("error", () => upstream.destroy());
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
}

async function listening(server: net.Server, scheme: string, tunnels: string[]): Promise<ForwardProxy> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    tunnels,
    open: () => sockets.size,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP proxy that opens a tunnel for each CONNECT and refuses every other request (405). */
export function startConnectProxy(): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? "";
    const at = target.lastIndexOf(":");
    tunnels.push(target);
    tunnel(client, target.slice(0, at), Number(target.slice(at + 1)), (upstream) => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
  });
  return listening(server, "http", tunnels);
}

/** A SOCKS5 server: no authentication, CONNECT to an IPv4 address or a name. */
export function startSocks5Proxy(): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const server = net.createServer((client) => {
    client.once("data", (greeting: Buffer) => {
      if (greeting[0] !== 5) return client.destroy();
      client.write(Buffer.from([5, 0])); // version 5, no authentication
      client.once("data", (req: Buffer) => {
        const type = req[3];
        let host: string;
        let at: number;
        if (type === 1) {
          host = [...req.subarray(4, 8)].join(".");
          at = 8;
        } else if (type === 3) {
          host = req.subarray(5, 5 + req[4]!).toString("latin1");
          at = 5 + req[4]!;
        } else return client.destroy();
        const port = req.readUInt16BE(at);
        tunnels.push(`${host}:${port}`);
        tunnel(client, host, port, (upstream) => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          client.pipe(upstream).pipe(client);
        });
      });
    });
    client.on("error", () => client.destroy());
  });
  return listening(server, "socks5", tunnels);
}
