// `linkerd multicluster check` (Linkerd's own CLI) on the clusters crosslink applied east-west to: every
// check that does not need running pods, cluster DNS or the internet passes; those that do are listed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { applyOnce } from "../engine/support.js";
import { multiclusterCheck, type CheckResult } from "./linkerd-cli.js";
import { useConformance } from "./fixture.js";

const fx = useConformance();

/** Checks that must pass on the source cluster (west, which holds Link `east`), in Linkerd's order. */
export const SOURCE_CHECKS = [
  "Link CRD exists",
  "Link resources are valid",
  "Link and CLI versions match",
  "remote cluster access credentials are valid",
  "clusters share trust anchors",
  "service mirror controller has required permissions",
  "extension is managing controllers",
  "multicluster extension proxies and cli versions match",
];

/** Checks that cannot pass on the harness, and why. */
export const NEEDS_PODS: Record<string, string> = {
  "service mirror controllers are running":
    "needs the controller Deployment's pod available (the harness runs no pods)",
  "probe services able to communicate with all gateway mirrors":
    "needs the probe Service's Endpoints and the controller's admin port (written by the running controller)",
  "multicluster extension proxies are healthy": "needs meshed pods in the extension namespace",
  "multicluster extension proxies are up-to-date":
    "asks Linkerd's version server on the internet (refused on loopback here)",
};

/** Checks that must pass on a cluster without Links (east, the target). */
export const TARGET_CHECKS = ["Link CRD exists", "multicluster extension proxies and cli versions match"];

const title = (c: CheckResult) => c.description.split("\n")[0]!.trim();

function assertChecks(results: CheckResult[], mustPass: string[], cluster: string): void {
  const seen = new Map(results.map((c) => [title(c), c]));
  for (const name of mustPass) {
    const c = seen.get(name);
    assert.ok(c, `${cluster}: check "${name}" did not run; ran: ${[...seen.keys()].join(" | ")}`);
    assert.equal(c.result, "success", `${cluster}: "${name}": ${c.error ?? ""}`);
  }
  for (const [name, c] of seen) {
    assert.ok(
      mustPass.includes(name) || name in NEEDS_PODS,
      `${cluster}: check "${name}" (${c.result}) is in neither list`,
    );
  }
}

test("linkerd multicluster check passes every check that needs no pods on the source cluster", async (t) => {
  if (fx.skip) return t.skip(fx.skip);
  const report = await multiclusterCheck(fx.tools!, fx.target("west"));
  assertChecks(report.checks, SOURCE_CHECKS, "west");
  const needed = report.checks.filter((c) => title(c) in NEEDS_PODS && c.result !== "success").map(title);
  t.diagnostic(`west needs pods for: ${needed.join(" | ")}`);
  // The controller check fails only because no pod runs: its message names crosslink's Deployment.
  const running = report.checks.find((c) => title(c) === "service mirror controllers are running");
  assert.match(running?.error ?? "", /controller-east/);
});

test("linkerd multicluster check passes on the target cluster", async (t) => {
  if (fx.skip) return t.skip(fx.skip);
  const report = await multiclusterCheck(fx.tools!, fx.target("east"));
  assertChecks(report.checks, TARGET_CHECKS, "east");
});

test("where the chart never made the shared controller role, crosslink's own one passes the permissions check", async (t) => {
  if (fx.skip) return t.skip(fx.skip);
  const west = fx.acc.clients.get("west")!;
  const shared = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    name: "linkerd-multicluster-controller-access-local-resources",
  };
  assert.ok(await west.delete(shared), "the seeded (chart's) role is removed, as on an extension older than 2.18");
  const r = await applyOnce(fx.topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes),
  );
  assert.equal((await west.get(shared))?.metadata.labels?.["app.kubernetes.io/managed-by"], "crosslink");
  const report = await multiclusterCheck(fx.tools!, fx.target("west"));
  assertChecks(report.checks, SOURCE_CHECKS, "west");
});
