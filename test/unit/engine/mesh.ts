/**
 * The unit tier's mesh: one PKI for the test run, a two-cluster topology
 * (west mirrors east) and helpers that run render and plan, and play the API
 * server in between, without any server.
 */
import type { ClusterFacts, ClusterObservation } from "../../../src/engine/facts.js";
import { plan, type PlanOptions } from "../../../src/engine/plan/plan.js";
import type { ClusterPlan, Plan } from "../../../src/engine/plan/actions.js";
import { render } from "../../../src/engine/render/render.js";
import type { DesiredCluster } from "../../../src/engine/render/desired.js";
import type { KubeObject } from "../../../src/kube/object.js";
import type { Topology } from "../../../src/topology/types.js";
import { createIssuer, createTrustAnchor, type CertKeyPair } from "../../harness/pki.js";
import { applyToFacts, clusterFacts, MANAGER, type FactsSpec } from "../../support/facts.js";
import { testTopology } from "../../support/topology.js";

/** The clock of every unit test. */
export const NOW = new Date("2026-06-01T12:00:00Z");

/** The test run's PKI: the topology's anchor with an issuer under it, and an unrelated anchor. */
export interface Pki {
  anchor: CertKeyPair;
  issuer: CertKeyPair;
  other: CertKeyPair;
}

let pki: Promise<Pki> | undefined;

/** The PKI, made once per process. */
export function testPki(): Promise<Pki> {
  pki ??= (async () => {
    const anchor = await createTrustAnchor({ notBefore: new Date(NOW.getTime() - 86_400_000) });
    const other = await createTrustAnchor({
      commonName: "other.example",
      notBefore: new Date(NOW.getTime() - 86_400_000),
    });
    return { anchor, other, issuer: await createIssuer(anchor, { notBefore: new Date(NOW.getTime() - 86_400_000) }) };
  })();
  return pki;
}

/** east exports `emojivoto/web-svc`; west links to east. Override any part of the spec. */
export async function eastWest(spec: Record<string, unknown> = {}, name = "mesh"): Promise<Topology> {
  const { anchor } = await testPki();
  return testTopology(
    {
      clusters: [{ name: "east" }, { name: "west" }],
      links: [{ from: "west", to: "east" }],
      exports: [{ cluster: "east", namespace: "emojivoto", services: ["web-svc"] }],
      ...spec,
    },
    anchor.certPem,
    name,
    NOW,
  );
}

/** West's split of `emojivoto/web-svc` between its own web-svc and east's mirror, by weight. */
export function webSplit(westWeight = 50, eastWeight = 50) {
  return {
    cluster: "west",
    namespace: "emojivoto",
    service: "web-svc",
    backends: [
      { service: "web-svc", weight: westWeight },
      { service: "web-svc", cluster: "east", weight: eastWeight },
    ],
  };
}

/** The east-west example's web-svc split, 50/50. */
export const WEB_SPLIT = webSplit();

/** Facts of a healthy cluster holding the test anchor and an issuer under it, plus `spec`. */
export async function healthy(spec: FactsSpec): Promise<ClusterFacts> {
  const { anchor, issuer } = await testPki();
  return clusterFacts({ linkerd: { anchorsPem: anchor.certPem }, issuerCertPem: issuer.certPem, ...spec });
}

/** Renders a topology against facts (clusters absent from `facts` were unreachable). */
export function renderFacts(
  topology: Topology,
  facts: readonly ClusterFacts[],
  now = NOW,
): Map<string, DesiredCluster> {
  return render({ topology, facts: new Map(facts.map((f) => [f.cluster, f])), now });
}

/** Render + plan over facts; `unreachable` clusters are observation errors. */
export function planFacts(
  topology: Topology,
  facts: readonly ClusterFacts[],
  opts: Partial<PlanOptions> & { unreachable?: string[]; now?: Date } = {},
): Plan {
  const observations: ClusterObservation[] = topology.clusters.flatMap((c): ClusterObservation[] => {
    const f = facts.find((x) => x.cluster === c.name);
    if (f) return [{ cluster: c.name, ok: true, facts: f }];
    return opts.unreachable?.includes(c.name) ? [{ cluster: c.name, ok: false, error: "connect ECONNREFUSED" }] : [];
  });
  return plan(topology, observations, renderFacts(topology, facts, opts.now), {
    fieldManager: MANAGER,
    allowMassPrune: opts.allowMassPrune ?? false,
    ...(opts.previous ? { previous: opts.previous } : {}),
  });
}

/** The plan of one cluster. */
export function clusterPlan(p: Plan, cluster: string): ClusterPlan {
  const c = p.clusters.find((x) => x.cluster === cluster);
  if (!c) throw new Error(`no plan for ${cluster}`);
  return c;
}

/** Every cluster's facts after the plan was carried out. */
export function converge(topology: Topology, facts: readonly ClusterFacts[], p: Plan, now = NOW): ClusterFacts[] {
  return facts.map((f) => applyToFacts(f, clusterPlan(p, f.cluster), { topology: topology.name, now }));
}

/** `Kind namespace/name` of each object, sorted. */
export function ids(objects: readonly KubeObject[]): string[] {
  return objects
    .map((o) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`)
    .sort();
}

/** `type Kind namespace/name` of each action, in plan order. */
export function actionIds(c: ClusterPlan): string[] {
  return c.actions.map((a) => {
    if (a.type === "credentials") return `credentials ${a.issue.from}→${a.issue.to}`;
    const r =
      a.type === "create" ? a.object : { kind: a.ref.kind, metadata: { name: a.ref.name, namespace: a.ref.namespace } };
    return `${a.type} ${r.kind} ${r.metadata.namespace ? `${r.metadata.namespace}/` : ""}${r.metadata.name}`;
  });
}
