/**
 * The HTTP agents of one cluster client: direct, or through the kubeconfig
 * cluster's `proxy-url`, as kubectl and client-go honour it: an `http://` or
 * `https://` proxy is asked to CONNECT (hpagent), a `socks4://`/`socks5://`
 * one is spoken SOCKS to (socks-proxy-agent). TLS to the API server is
 * end to end either way: the proxy sees only the tunnel. The proxy modules
 * are loaded only when a kubeconfig names a proxy.
 */
import https from "node:https";
import { KubeError } from "./errors.js";
import { redactUrl } from "../util/redact-url.js";

/** How long a kept-alive request socket may sit idle before it is closed (client-go closes its idle ones after 90 s). */
export const IDLE_SOCKET_MS = 60_000;

/** The two agents of a client: keep-alive for requests, one socket per HTTP/1.1 watch. */
export interface ClusterAgents {
  /** Requests: kept-alive sockets, at most 16 at a time, each closed after `idleSocketMs` unused. */
  unary: https.Agent;
  /** Watches over HTTP/1.1 hold their socket for minutes: no keep-alive, so they never queue other requests. */
  watch: https.Agent;
}

const WATCH: https.AgentOptions = { keepAlive: false };

/** The schemes a `proxy-url` may have. */
export const PROXY_SCHEMES = ["http:", "https:", "socks4:", "socks4a:", "socks5:", "socks5h:"] as const;

/**
 * The agents for a cluster reached directly (no `proxyUrl`) or through `proxyUrl`; KUBE_INVALID for a proxy URL
 * crosslink cannot use. A request's own timeout governs its socket while it runs; the agent's, once it is idle.
 */
export async function clusterAgents(
  cluster: string,
  proxyUrl?: string,
  idleSocketMs = IDLE_SOCKET_MS,
): Promise<ClusterAgents> {
  const UNARY: https.AgentOptions = { keepAlive: true, maxSockets: 16, timeout: idleSocketMs };
  if (!proxyUrl) return { unary: new https.Agent(UNARY), watch: new https.Agent(WATCH) };
  let scheme: string;
  try {
    scheme = new URL(proxyUrl).protocol;
  } catch {
    throw new KubeError("KUBE_INVALID", `kubeconfig proxy-url ${redactUrl(proxyUrl)}: not a URL`, cluster);
  }
  if (scheme === "http:" || scheme === "https:") {
    const { HttpsProxyAgent } = await import("hpagent");
    const agent = (o: https.AgentOptions) => new HttpsProxyAgent({ ...o, proxy: proxyUrl });
    return { unary: agent(UNARY), watch: agent(WATCH) };
  }
  if ((PROXY_SCHEMES as readonly string[]).includes(scheme)) {
    const { SocksProxyAgent } = await import("socks-proxy-agent");
    const agent = (o: https.AgentOptions) => new SocksProxyAgent(proxyUrl, o) as unknown as https.Agent;
    return { unary: agent(UNARY), watch: agent(WATCH) };
  }
  throw new KubeError(
    "KUBE_INVALID",
    `kubeconfig proxy-url ${redactUrl(proxyUrl)}: scheme ${scheme} is not supported (${PROXY_SCHEMES.join(", ")})`,
    cluster,
  );
}
