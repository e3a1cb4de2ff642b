/**
 * Trust against real API servers: west seeded with its own anchor. The plan
 * reports the mismatch (linked clusters must hold identical anchors; west's
 * issuer does not chain to the topology's bundle); with manageTrust the bundle
 * is written in both places Linkerd keeps it, and the next plan is clean.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bundleFingerprints, sameCertificates } from "../../src/pki/pem.js";
import { createTrustAnchor, type CertKeyPair } from "../harness/pki.js";
import { parseLinkerdConfig } from "../../src/engine/observe.js";
import { applyOnce, exampleTopology, useClusters } from "./support.js";

let westAnchor: CertKeyPair;
const fx = useClusters(["east", "west"], "east-west", async () => {
  westAnchor = await createTrustAnchor();
  return { seed: (name: string) => (name === "west" ? { trustAnchor: westAnchor } : {}) };
});

test("mismatched anchors are errors in the plan and nothing about trust is written", async () => {
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem);
  const r = await applyOnce(topology, fx.acc);
  const codes = r.plan.clusters.flatMap((c) => c.findings.map((f) => `${c.cluster}:${f.code}`));
  assert.ok(codes.includes("west:XL632"), codes.join(" ")); // west's issuer does not chain to the bundle
  assert.ok(codes.includes("west:XL635"), codes.join(" ")); // linked clusters hold different anchors
  assert.ok(codes.includes("west:XL634"), codes.join(" ")); // drift, reported only
  const cm = await fx.acc.clients
    .get("west")!
    .get({ apiVersion: "v1", kind: "ConfigMap", namespace: "linkerd", name: "linkerd-config" });
  assert.ok(
    sameCertificates(bundleFingerprints(parseLinkerdConfig(cm!)!.anchorsPem), bundleFingerprints(westAnchor.certPem)),
  );
});

test("with manageTrust the bundle is written to linkerd-config and the trust roots, then the plan is clean", async () => {
  const bundle = `${fx.clusters.trustAnchorPem.trim()}\n${westAnchor.certPem.trim()}\n`;
  const topology = await exampleTopology("east-west", bundle, (d) => d.setIn(["spec", "manageTrust"], true));
  const r = await applyOnce(topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes.clusters),
  );
  const warnings = r.plan.clusters.flatMap((c) => c.findings.filter((f) => f.code === "XL633").map(() => c.cluster));
  assert.deepEqual(warnings.sort(), ["east", "west"], "each cluster is told proxies need a restart");
  const want = bundleFingerprints(bundle);
  assert.equal(want.length, 2);
  for (const name of ["east", "west"]) {
    const client = fx.acc.clients.get(name)!;
    const cm = await client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "linkerd", name: "linkerd-config" });
    const facts = parseLinkerdConfig(cm!)!;
    assert.ok(sameCertificates(bundleFingerprints(facts.anchorsPem), want), `${name} linkerd-config`);
    assert.equal(facts.trustDomain, "cluster.local", "the rest of values is kept");
    const roots = await client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "linkerd",
      name: "linkerd-identity-trust-roots",
    });
    assert.ok(
      sameCertificates(bundleFingerprints((roots!.data as Record<string, string>)["ca-bundle.crt"]!), want),
      `${name} trust roots`,
    );
  }
  const again = await applyOnce(topology, fx.acc);
  assert.equal(again.writes, 0);
  assert.deepEqual(
    again.plan.clusters.flatMap((c) => c.findings.filter((f) => f.severity === "error")),
    [],
  );
});
