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
  const r = renderTrust(topology, new Map([["east", east]]));
  assert.deepEqual(codes(r), ["east XL633"]);
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
