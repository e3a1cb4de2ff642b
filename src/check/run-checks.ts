/**
 * The core of `crosslink check` (pure): facts → the list of check results, in
 * a fixed order: each cluster (reachable, trust, orphaned mirrors), each link
 * (Link, credentials, controller, mirrors, shared trust), then splits. A
 * cluster that could not be read gets one failure and its checks are skipped.
 */
import type { ClusterFacts } from "../engine/facts.js";
import { linkChecks } from "./link-checks.js";
import { linkMirrorChecks, orphanCheck, splitChecks } from "./mirror-checks.js";
import { clusterTrustChecks, linkTrustCheck } from "./trust-checks.js";
import {
  CHECK_DEFAULTS,
  linkKey,
  ok,
  problem,
  type CheckFacts,
  type CheckOptions,
  type CheckResult,
  type CheckStatus,
} from "./types.js";

/** Runs every check over the facts. */
export function runChecks(facts: CheckFacts, opts: CheckOptions = CHECK_DEFAULTS): CheckResult[] {
  const { topology, now } = facts;
  const observed = new Map<string, ClusterFacts>();
  for (const o of facts.observations) if (o.ok) observed.set(o.cluster, o.facts);
  const out: CheckResult[] = [];
  for (const c of topology.clusters) {
    const category = `cluster ${c.name}`;
    const o = facts.observations.find((x) => x.cluster === c.name);
    const f = observed.get(c.name);
    if (!f) {
      out.push(
        problem(
          category,
          "the cluster can be read",
          "XL901",
          o && !o.ok ? o.error : `not observed (kubeconfig context '${c.context}')`,
          "check the kubeconfig context and that the API server answers",
        ),
      );
      continue;
    }
    const readError = facts.readErrors.get(c.name);
    out.push(
      readError
        ? problem(category, "the cluster can be read", "XL901", readError, "check crosslink's rights in the cluster")
        : ok(category, "the cluster can be read", f.server),
    );
    out.push(...clusterTrustChecks(category, f, now, opts));
    out.push(orphanCheck(topology, f));
  }
  for (const link of topology.links) {
    const from = observed.get(link.from);
    const to = observed.get(link.to);
    const lf = facts.links.get(linkKey(link));
    const fromPlan = facts.plan.clusters.find((c) => c.cluster === link.from);
    if (!from || !lf || !fromPlan) continue;
    out.push(...linkChecks(topology, lf, fromPlan, from, now, opts));
    const noEndpoints = new Map();
    out.push(
      ...linkMirrorChecks(topology, link, from, {
        from: facts.endpoints.get(link.from) ?? noEndpoints,
        ...(to ? { to: facts.endpoints.get(link.to) ?? noEndpoints } : {}),
      }),
    );
    if (to) out.push(linkTrustCheck(`link ${link.from}→${link.to}`, link, from, to));
  }
  out.push(...splitChecks(topology, observed));
  return out;
}

/** Counts of results by status. */
export function countResults(results: readonly CheckResult[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}

/** The exit code of a check run: 1 on any failure, else 2 on any warning, else 0. */
export function checkExitCode(results: readonly CheckResult[]): 0 | 1 | 2 {
  const c = countResults(results);
  return c.fail ? 1 : c.warn ? 2 : 0;
}
