/**
 * Link credentials: the kubeconfig a source cluster's mirror controller and
 * destination controller use to reach the target. Both `cluster-credentials-<to>`
 * Secrets of `link-gen` (multicluster namespace, and Linkerd namespace with the
 * label and annotations the destination controller requires).
 *
 * A live credential whose token is still good (more than half its TTL left,
 * by the target API server's clock: a skewed local clock neither renews on
 * every run nor lets a token expire) and whose server, CA and account match
 * is kept, byte for byte, so a no-op run writes nothing and credentials
 * Linkerd's CLI made are adopted as they are; otherwise (or when rotation is
 * asked for) the credentials are (re)issued at apply time.
 */
import yaml from "js-yaml";
import type { KubeObject } from "../../kube/object.js";
import { objectKey, refOf } from "../../kube/object.js";
import type { Cluster, Link } from "../../topology/types.js";
import type { ClusterFacts } from "../facts.js";
import { linkNames } from "../names.js";
import { b64, owned } from "./meta.js";
import type { CredentialsIssue } from "./desired.js";

/** What the credentials kubeconfig says, parsed back. */
export interface KubeconfigSummary {
  server?: string;
  caPem?: string;
  user?: string;
  token?: string;
}

/** Renders the kubeconfig text of a link's credentials (deterministic for the same input). */
export function credentialsKubeconfig(
  k: { server: string; caPem?: string; name: string; user: string },
  token: string,
): string {
  const cluster: Record<string, string> = { server: k.server };
  if (k.caPem) cluster["certificate-authority-data"] = b64(k.caPem);
  return yaml.dump(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: k.name, cluster }],
      users: [{ name: k.user, user: { token } }],
      contexts: [{ name: k.name, context: { cluster: k.name, user: k.user } }],
      "current-context": k.name,
    },
    { lineWidth: -1 },
  );
}

/** Reads server, CA, user and token back from a credentials kubeconfig. */
export function summariseKubeconfig(text: string): KubeconfigSummary {
  try {
    const doc = yaml.load(text) as {
      clusters?: { cluster?: { server?: string; "certificate-authority-data"?: string } }[];
      users?: { name?: string; user?: { token?: string } }[];
    };
    const c = doc?.clusters?.[0]?.cluster;
    const u = doc?.users?.[0];
    const out: KubeconfigSummary = {};
    if (c?.server) out.server = c.server;
    if (c?.["certificate-authority-data"])
      out.caPem = Buffer.from(c["certificate-authority-data"], "base64").toString("utf8");
    if (u?.name) out.user = u.name;
    if (u?.user?.token) out.token = u.user.token;
    return out;
  } catch {
    return {};
  }
}

/** Seconds until a JWT's `exp`, or undefined when the token carries none (long-lived). */
export function tokenSecondsLeft(token: string, now: Date): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: number };
    return typeof claims.exp === "number" ? claims.exp - Math.floor(now.getTime() / 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** The two credential Secrets of a link, with `kubeconfig` when known. */
export function credentialSecrets(
  topology: string,
  link: Link,
  from: Cluster,
  to: Cluster,
  toFacts: ClusterFacts | undefined,
  kubeconfig?: string,
): KubeObject[] {
  const n = linkNames(link.from, link.to);
  const data = kubeconfig === undefined ? {} : { data: { kubeconfig: b64(kubeconfig) } };
  const body = { type: "mirror.linkerd.io/remote-kubeconfig", ...data };
  return [
    owned(topology, "v1", "Secret", n.credentials, from.multiclusterNamespace, body, { link: n.linkLabel }),
    owned(topology, "v1", "Secret", n.credentials, from.linkerdNamespace, body, {
      link: n.linkLabel,
      labels: { "multicluster.linkerd.io/cluster-name": n.clusterNameLabel },
      annotations: {
        "multicluster.linkerd.io/trust-domain": toFacts?.linkerd?.trustDomain ?? "cluster.local",
        "multicluster.linkerd.io/cluster-domain": toFacts?.linkerd?.clusterDomain ?? to.clusterDomain,
      },
    }),
  ];
}

/** The two credential Secrets of an issue, holding a kubeconfig with `token` (what apply writes). */
export function issuedSecrets(issue: CredentialsIssue, token: string): KubeObject[] {
  const kubeconfig = credentialsKubeconfig(issue.kubeconfig, token);
  return issue.secrets.map((s) => ({ ...s, data: { kubeconfig: b64(kubeconfig) } }));
}

/**
 * Decides a link's credentials: either desired Secrets equal to a still-good
 * live credential, or an issue to perform at apply time.
 */
export function renderCredentials(
  topology: string,
  link: Link,
  from: Cluster,
  to: Cluster,
  fromFacts: ClusterFacts,
  toFacts: ClusterFacts,
  now: Date,
  rotate = false,
): { objects: KubeObject[]; issue?: CredentialsIssue } {
  const n = linkNames(link.from, link.to);
  const account = remoteAccount(link);
  const kc = {
    server: to.apiServer ?? toFacts.server,
    name: link.to,
    user: account,
    ...(toFacts.caPem ? { caPem: toFacts.caPem } : {}),
  };
  const templates = credentialSecrets(topology, link, from, to, toFacts);
  const liveSecret = (t: KubeObject) =>
    [...fromFacts.owned, ...fromFacts.adoptable].find((o) => objectKey(refOf(o)) === objectKey(refOf(t)));
  const liveMc = liveSecret(templates[0]!);
  const liveText = liveMc
    ? Buffer.from(String((liveMc.data as Record<string, string> | undefined)?.kubeconfig ?? ""), "base64").toString(
        "utf8",
      )
    : "";
  const live = summariseKubeconfig(liveText);

  // The token expires by the target's clock, which may differ from this machine's (XL609).
  const targetNow = new Date(now.getTime() + (toFacts.clockOffsetMs ?? 0));
  const reason = rotate ? "rotation requested (--rotate-credentials)" : whyIssue(live, kc, link, targetNow);
  if (!reason && live.token) {
    // Kept as written (crosslink's own text is what credentialsKubeconfig renders; link-gen's differs in form only).
    return { objects: credentialSecrets(topology, link, from, to, toFacts, liveText) };
  }
  const issue: CredentialsIssue = {
    from: link.from,
    to: link.to,
    mode: link.credentials.mode,
    ttlSeconds: link.credentials.ttlSeconds,
    target: {
      namespace: to.multiclusterNamespace,
      serviceAccount: account,
      ...(link.credentials.mode === "service-account-token"
        ? { tokenSecret: link.credentials.serviceAccount ? `${account}-token` : n.remoteAccessToken }
        : {}),
    },
    kubeconfig: kc,
    secrets: templates,
    // The destination controller reads the Linkerd-namespace Secret only when it is created: a live one is
    // deleted and created again (apply), so "rotate" whenever either Secret exists.
    op: liveMc || liveSecret(templates[1]!) ? "rotate" : "create",
    reason: reason ?? "no credentials yet",
  };
  const liveDeployment =
    link.controller === "managed" &&
    fromFacts.owned.find(
      (o) =>
        o.kind === "Deployment" &&
        o.metadata.name === n.controller &&
        o.metadata.namespace === from.multiclusterNamespace,
    );
  if (liveDeployment && liveMc) issue.restart = refOf(liveDeployment);
  return { objects: [], issue };
}

/**
 * The remote-access ServiceAccount in `to` whose tokens a link's credentials
 * carry: the topology's `credentials.serviceAccount` (someone else's account,
 * e.g. `install`'s `…-default`), else crosslink's per-source account.
 */
export function remoteAccount(link: Link): string {
  return link.credentials.serviceAccount ?? linkNames(link.from, link.to).remoteAccess;
}

function whyIssue(
  live: KubeconfigSummary,
  kc: { server: string; caPem?: string; user: string },
  link: Link,
  now: Date,
): string | undefined {
  if (!live.token) return "no credentials yet";
  if (live.server !== kc.server) return `target API server changed (${live.server ?? "none"} → ${kc.server})`;
  if ((live.caPem ?? "") !== (kc.caPem ?? "")) return "target CA changed";
  if (live.user !== kc.user) return "service account changed";
  const left = tokenSecondsLeft(live.token, now);
  if (link.credentials.mode === "token-request") {
    if (left === undefined) return "token has no expiry; switching to a bounded token";
    if (left < link.credentials.ttlSeconds / 2)
      return left <= 0 ? "token expired" : `token has ${formatSeconds(left)} left, under half its TTL`;
  } else if (left !== undefined) {
    return "switching to a service-account-token Secret";
  }
  return undefined;
}

/** `3h25m`-style rendering of a duration in seconds. */
export function formatSeconds(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${m ? `${m}m` : ""}` : m ? `${m}m` : `${Math.max(0, Math.floor(s))}s`;
}
