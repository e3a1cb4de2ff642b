/** Render of trust without a server: anchors compared, issuers checked, the bundle written only with manageTrust. */
import assert from "node:assert/strict";
import test from "node:test";
import { renderTrust, topologyBundle } from "../../../../src/engine/render/trust.js";
import { clusterFacts } from "../../../support/facts.js";
import { eastWest, healthy, testPki } from "../mesh.js";

const codes = (r: ReturnType<typeof renderTrust>) => r.findings.map((f) => `${f.cluster} ${f.code}`).sort();

test("clusters holding the topology's anchor with an issuer under it: no finding, no patch", async () => {
  const facts = new Map([
    ["east", await healthy({ cluster: "east" })],
    ["west", await healthy({ cluster: "west" })],
  ]);
  const r = renderTrust(await eastWest(), facts);
  assert.deepEqual(codes(r), []);
  assert.equal(r.patches.size, 0);
});

test("other anchors: reported (XL634), linked clusters that differ fail (XL635), an issuer outside the bundle fails (XL632)", async () => {
  const { other, anchor } = await testPki();
  const east = clusterFacts({ cluster: "east", linkerd: { anchorsPem: other.certPem }, issuerCertPem: other.certPem });
  const west = await healthy({ cluster: "west" });
  const r = renderTrust(
    await eastWest(),
    new Map([
      ["east", east],
      ["west", west],
    ]),
  );
  assert.deepEqual(codes(r), ["east XL632", "east XL634", "west XL635"]);
  assert.equal(r.patches.size, 0, "without manageTrust nothing is written");
  const rootsOnly = clusterFacts({
    cluster: "west",
    linkerd: { anchorsPem: anchor.certPem, trustRootsPem: other.certPem },
  });
  assert.deepEqual(
    codes(renderTrust(await eastWest(), new Map([["west", rootsOnly]]))),
    ["west XL634"],
    "linkerd-identity-trust-roots is compared too",
  );
});

test("manageTrust: both ConfigMaps are patched (forced) with the topology's bundle, and XL633 asks for restarts", async () => {
  const { other } = await testPki();
  const topology = await eastWest({ manageTrust: true });
  const east = clusterFacts({ cluster: "east", linkerd: { anchorsPem: other.certPem } });
  const west = await healthy({ cluster: "west" });
  const r = renderTrust(
    topology,
    new Map([
      ["east", east],
      ["west", west],
    ]),
  );
  assert.deepEqual(codes(r), ["east XL633"]);
  const unobserved = renderTrust(topology, new Map([["east", east]]));
  assert.deepEqual(codes(unobserved), ["west XL637"], "east's anchor is dropped only once west's issuer is known");
  assert.equal(unobserved.patches.size, 0);
  const patches = r.patches.get("east")!;
  assert.deepEqual(
    patches.map((p) => [p.object.metadata.name, p.force]),
    [
      ["linkerd-config", true],
      ["linkerd-identity-trust-roots", true],
    ],
  );
  assert.equal((patches[1]!.object.data as Record<string, string>)["ca-bundle.crt"], topologyBundle(topology));
  assert.match((patches[0]!.object.data as { values: string }).values, /identityTrustAnchorsPEM/);
});

test("no linkerd-config: XL631", async () => {
  const r = renderTrust(await eastWest(), new Map([["east", clusterFacts({ cluster: "east", linkerd: false })]]));
  assert.deepEqual(codes(r), ["east XL631"]);
});

test("a staged rotation: stage per cluster (XL636), stage 2 before stage 1 (XL638), stage 3 gated on every issuer (XL637)", async () => {
  const { anchor, other } = await testPki();
  const { createIssuer } = await import("../../../../src/pki/x509.js");
  const both = `${anchor.certPem.trim()}\n${other.certPem.trim()}\n`;
  const stage1 = await eastWest({
    manageTrust: true,
    trustAnchors: [
      { name: "root", pem: anchor.certPem },
      { name: "next", pem: other.certPem, role: "next" },
    ],
  });
  const onOld = await healthy({ cluster: "east" });
  const onNext = clusterFacts({
    cluster: "west",
    linkerd: { anchorsPem: anchor.certPem },
    issuerCertPem: (await createIssuer(other, { lifetimeMs: 86_400_000 })).certPem,
  });
  const r1 = renderTrust(
    stage1,
    new Map([
      ["east", onOld],
      ["west", onNext],
    ]),
  );
  assert.deepEqual(codes(r1), ["east XL633", "east XL636", "west XL633", "west XL636", "west XL638"]);
  assert.match(r1.findings.find((f) => f.code === "XL636" && f.cluster === "east")!.message, /stage 1 of 3/);
  const bundled = (f: typeof onOld) =>
    clusterFacts({
      cluster: f.cluster,
      linkerd: { anchorsPem: both },
      ...(f.issuerCertPem ? { issuerCertPem: f.issuerCertPem } : {}),
    });
  const r2 = renderTrust(
    stage1,
    new Map([
      ["east", bundled(onOld)],
      ["west", bundled(onNext)],
    ]),
  );
  assert.deepEqual(codes(r2), ["east XL636", "west XL636"]);
  assert.match(
    r2.findings.find((f) => f.cluster === "west")!.hint!,
    /stage 3 waits for: east: its issuer chains to `root`/,
  );
  const stage3 = await eastWest({ manageTrust: true, trustAnchors: [{ name: "next", pem: other.certPem }] });
  const r3 = renderTrust(
    stage3,
    new Map([
      ["east", bundled(onOld)],
      ["west", bundled(onNext)],
    ]),
  );
  assert.deepEqual(codes(r3), ["east XL632", "east XL637"]);
  assert.equal(r3.patches.size, 0, "no bundle loses the old anchor while east's issuer chains to it");
});
