/**
 * The I/O edge of `crosslink check`: what diff observes and plans (reused
 * whole), plus the few reads the checks need beyond it — each link's Link,
 * Lease and credential Secrets in the source, the Endpoints of the namespaces
 * where mirrors must resolve, and access reviews made with each link's own
 * credentials against its target. Tokens are used here and dropped: the facts
 * hold only what was learnt with them. Every cluster's reads run under the
 * observe deadline; a failed read is a per-cluster error, never a crash.
 */
import { nsName, type ClusterFacts } from "../engine/facts.js";
import { linkNames } from "../engine/names.js";
import { OBSERVE_CONCURRENCY } from "../engine/observe.js";
import { planTopology, type ReconcileOptions } from "../engine/reconcile.js";
import { summariseKubeconfig, tokenSecondsLeft } from "../engine/render/credentials.js";
import { clientForContext } from "../kube/access.js";
import { KubeError } from "../kube/errors.js";
import { Kubeconfig } from "../kube/kubeconfig.js";
import { LINK_GROUP } from "../kube/kinds.js";
import type { KubeObject } from "../kube/object.js";
import { scopedClient, type ClusterClient } from "../kube/port.js";
import type { Link, Topology } from "../topology/types.js";
import { scopedSignal } from "../util/abort.js";
import { errorMessage, mapLimit } from "../util/concurrency.js";
import { ACCESS_QUESTIONS } from "./link-checks.js";
import { linkKey, type AccessResult, type CheckFacts, type CredentialFacts, type LinkFacts } from "./types.js";

/** What gathering produced: the facts, and the requests made with each link's credentials, by target cluster. */
export interface GatherResult {
  facts: CheckFacts;
  credentialRequests: Map<string, number>;
}

/** The retry policy of requests made with a link's credentials: a wrong token is not retried. */
const CREDENTIAL_RETRY = { attempts: 2, baseDelayMs: 200, timeoutMs: 5_000 };

/** Observes and plans (as diff does), then reads what the checks need besides. */
export async function gatherCheckFacts(
  topology: Topology,
  clients: ReadonlyMap<string, ClusterClient>,
  opts: ReconcileOptions,
): Promise<GatherResult> {
  const run = await planTopology(topology, clients, opts);
  const now = opts.now();
  const observed = new Map<string, ClusterFacts>();
  for (const o of run.observations) if (o.ok) observed.set(o.cluster, o.facts);
  const endpoints = new Map<string, Map<string, KubeObject>>();
  const readErrors = new Map<string, string>();
  const links = new Map<string, LinkFacts>();
  const credentialRequests = new Map<string, number>();

  await mapLimit([...observed.values()], OBSERVE_CONCURRENCY, async (f) => {
    const s = scopedSignal([opts.signal], opts.observeDeadlineMs, `checking ${f.cluster}`);
    const client = scopedClient(clients.get(f.cluster)!, { signal: s.signal });
    try {
      const [eps, linkFacts] = await Promise.all([
        readEndpoints(client, endpointNamespaces(topology, f.cluster)),
        Promise.all(
          topology.links
            .filter((l) => l.from === f.cluster)
            .map((l) => readLink(topology, l, f, client, now, s.signal, credentialRequests)),
        ),
      ]);
      endpoints.set(f.cluster, eps);
      for (const lf of linkFacts) links.set(linkKey(lf.link), lf);
    } catch (err) {
      readErrors.set(f.cluster, errorMessage(err));
    } finally {
      s.dispose();
    }
  });
  const facts: CheckFacts = {
    topology,
    now,
    observations: run.observations,
    plan: run.plan,
    endpoints,
    links,
    readErrors,
  };
  return { facts, credentialRequests };
}

/** The namespaces of a cluster whose Endpoints the mirror checks read. */
export function endpointNamespaces(topology: Topology, cluster: string): string[] {
  const ns = new Set<string>();
  const targets = new Set(topology.links.filter((l) => l.from === cluster).map((l) => l.to));
  const linkedTo = topology.links.some((l) => l.to === cluster);
  for (const e of topology.exports) {
    if (e.mode === "gateway" && targets.has(e.cluster)) ns.add(e.namespace);
    if (e.mode !== "gateway" && e.cluster === cluster && linkedTo) ns.add(e.namespace);
  }
  return [...ns].sort();
}

async function readEndpoints(client: ClusterClient, namespaces: string[]): Promise<Map<string, KubeObject>> {
  const lists = await Promise.all(namespaces.map((namespace) => client.list("v1", "Endpoints", { namespace })));
  const out = new Map<string, KubeObject>();
  for (const e of lists.flat()) out.set(nsName(e.metadata.namespace ?? "", e.metadata.name), e);
  return out;
}

async function readLink(
  topology: Topology,
  link: Link,
  f: ClusterFacts,
  client: ClusterClient,
  now: Date,
  signal: AbortSignal,
  credentialRequests: Map<string, number>,
): Promise<LinkFacts> {
  const from = topology.clusters.find((c) => c.name === link.from)!;
  const n = linkNames(link.from, link.to);
  const linkVersion = f.served[LINK_GROUP]?.[0];
  const secretRefs = [from.multiclusterNamespace, from.linkerdNamespace].map((namespace) => ({
    apiVersion: "v1",
    kind: "Secret",
    namespace,
    name: n.credentials,
  }));
  const [linkObject, lease, ...secrets] = await Promise.all([
    linkVersion
      ? client.get({
          apiVersion: `${LINK_GROUP}/${linkVersion}`,
          kind: "Link",
          namespace: from.multiclusterNamespace,
          name: n.link,
        })
      : Promise.resolve(undefined),
    client.get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: from.multiclusterNamespace,
      name: `service-mirror-write-${link.to}`,
    }),
    ...secretRefs.map((r) => client.get(r)),
  ]);
  const credentials = await probeCredentials(link, secrets[0], now, signal, credentialRequests);
  const kubeconfigOf = (s: KubeObject | undefined) => (s?.data as Record<string, string> | undefined)?.kubeconfig;
  credentials.copiesAgree = !secrets[0] || !secrets[1] || kubeconfigOf(secrets[0]) === kubeconfigOf(secrets[1]);
  credentials.secrets = secretRefs.map((r, i) => ({ namespace: r.namespace, name: r.name, present: !!secrets[i] }));
  return {
    link,
    ...(linkObject ? { linkObject } : {}),
    ...(lease ? { lease } : {}),
    credentials,
  };
}

/**
 * Reads the token's expiry from the multicluster-namespace Secret and, with a
 * client built from that Secret's kubeconfig, asks the target what the token
 * may do (the first review tells whether it authenticates at all).
 */
async function probeCredentials(
  link: Link,
  secret: KubeObject | undefined,
  now: Date,
  signal: AbortSignal,
  credentialRequests: Map<string, number>,
): Promise<CredentialFacts> {
  const out: CredentialFacts = { secrets: [], hasToken: false, copiesAgree: true };
  const b64 = (secret?.data as Record<string, string> | undefined)?.kubeconfig;
  if (!b64) return out;
  const text = Buffer.from(b64, "base64").toString("utf8");
  const summary = summariseKubeconfig(text);
  if (!summary.token) return out;
  out.hasToken = true;
  out.tokenSecondsLeft = tokenSecondsLeft(summary.token, now) ?? null;
  if (summary.server) out.server = summary.server;
  const kc = new Kubeconfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    out.probe = { authenticated: false, error: `the kubeconfig does not load: ${errorMessage(err)}` };
    return out;
  }
  const client = clientForContext(kc, kc.getCurrentContext(), link.to, CREDENTIAL_RETRY);
  if (!client?.reviewAccess) {
    out.probe = { authenticated: false, error: "the kubeconfig names no usable context" };
    return out;
  }
  const ask = (i: number) => client.reviewAccess(ACCESS_QUESTIONS[i]!, { signal });
  try {
    const first = await ask(0);
    const rest = await Promise.all(ACCESS_QUESTIONS.slice(1).map((_, i) => ask(i + 1)));
    const access: AccessResult[] = [first, ...rest].map((a, i) => ({ ...ACCESS_QUESTIONS[i]!, allowed: a.allowed }));
    out.probe = { authenticated: true, access };
  } catch (err) {
    const unauthorized = err instanceof KubeError && err.status === 401;
    out.probe = {
      authenticated: false,
      error: unauthorized ? `${link.to} answered 401 Unauthorized: the token is not accepted` : errorMessage(err),
    };
  } finally {
    credentialRequests.set(link.to, (credentialRequests.get(link.to) ?? 0) + client.counters.requests);
    client.close();
  }
  return out;
}
