import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { checkPem } from "../../src/topology/anchors.js";
import { signatureAlgorithm } from "../../src/topology/der.js";
import { X509Certificate } from "node:crypto";
import { brief, codes, FIXTURES, load, NOW, topo } from "./helpers.js";

const pem = (name: string) => readFileSync(path.join(FIXTURES, "anchors", name), "utf8");
const DAY = 86_400_000;
const withAnchor = (file: string) => topo().replace("anchors/root.crt", `anchors/${file}`);

test("good anchors: ECDSA P-256 and RSA 2048 with SHA-256", () => {
  assert.deepEqual(checkPem(pem("root.crt"), NOW).problems, []);
  assert.deepEqual(checkPem(pem("rsa2048.crt"), NOW).problems, []);
  const { fingerprints } = checkPem(pem("root.crt") + pem("rsa2048.crt"), NOW);
  assert.equal(fingerprints.length, 2);
  assert.match(fingerprints[0] ?? "", /^[0-9a-f]{64}$/);
});

test("signature algorithms are read from DER", () => {
  assert.equal(signatureAlgorithm(new X509Certificate(pem("root.crt")).raw), "ECDSAWithSHA256");
  assert.equal(signatureAlgorithm(new X509Certificate(pem("rsa2048.crt")).raw), "SHA256WithRSA");
  assert.equal(signatureAlgorithm(new X509Certificate(pem("p384.crt")).raw), "ECDSAWithSHA384");
  assert.equal(signatureAlgorithm(new X509Certificate(pem("ed25519.crt")).raw), "Ed25519");
  assert.equal(signatureAlgorithm(new Uint8Array([0x30, 0x83, 1])), undefined);
});

test("unsupported algorithms: RSA 1024, P-384, P-256 with SHA-384, Ed25519", () => {
  for (const f of ["rsa1024.crt", "p384.crt", "p256-sha384.crt", "ed25519.crt"]) {
    assert.deepEqual(
      checkPem(pem(f), NOW).problems.map((p) => p.code),
      ["XL305"],
      f,
    );
  }
  assert.match(checkPem(pem("rsa1024.crt"), NOW).problems[0]?.message ?? "", /RSA 1024/);
});

test("not a CA, not a certificate, a private key", () => {
  assert.deepEqual(codes2(pem("not-ca.crt")), ["XL302"]);
  assert.deepEqual(codes2(pem("garbage.crt")), ["XL301"]);
  assert.deepEqual(codes2("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), ["XL301"]);
  assert.deepEqual(codes2("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), ["XL301"]);
  assert.deepEqual(codes2(pem("root.crt") + "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), [
    "XL307",
  ]);
});

function codes2(text: string, now = NOW): string[] {
  return checkPem(text, now).problems.map((p) => p.code);
}

test("validity: expired, not yet valid, expiring within 60 days", () => {
  const to = Date.parse(new X509Certificate(pem("root.crt")).validTo);
  const from = Date.parse(new X509Certificate(pem("root.crt")).validFrom);
  assert.deepEqual(codes2(pem("root.crt"), to + 1), ["XL303"]);
  assert.deepEqual(codes2(pem("root.crt"), from - 1), ["XL304"]);
  assert.deepEqual(codes2(pem("root.crt"), to - 59 * DAY), ["XL306"]);
  assert.deepEqual(codes2(pem("root.crt"), to - 61 * DAY), []);
  assert.deepEqual(codes2(pem("short-lived.crt")), ["XL306"]);
});

test("anchor problems are located at the file value; warnings keep the topology", async () => {
  const missing = await load(withAnchor("nope.crt"));
  assert.deepEqual(brief(missing.diagnostics), ["XL300@8:13"]);
  const notCa = await load(withAnchor("not-ca.crt"));
  assert.deepEqual(brief(notCa.diagnostics), ["XL302@8:13"]);
  const soon = await load(withAnchor("short-lived.crt"));
  assert.deepEqual(codes(soon.diagnostics), ["XL306"]);
  assert.ok(soon.topology);
  const dir = await load(topo().replace("anchors/root.crt", "anchors"));
  assert.deepEqual(codes(dir.diagnostics), ["XL300"]);
});

test("inline pem anchors are located at the pem value", async () => {
  const text = topo().replace(
    "      file: anchors/root.crt",
    "      pem: |\n" +
      pem("rsa1024.crt")
        .trimEnd()
        .split("\n")
        .map((l) => "        " + l)
        .join("\n"),
  );
  const r = await load(text);
  assert.deepEqual(brief(r.diagnostics), ["XL305@8:12"]);
  const good = await load(
    topo().replace(
      "      file: anchors/root.crt",
      "      pem: |\n" +
        pem("root.crt")
          .trimEnd()
          .split("\n")
          .map((l) => "        " + l)
          .join("\n"),
    ),
  );
  assert.deepEqual(good.diagnostics, []);
  assert.equal(good.topology?.trustAnchors[0]?.file, undefined);
  assert.match(good.topology?.trustAnchors[0]?.pem ?? "", /BEGIN CERTIFICATE/);
});

test("the same certificate in two anchors is a warning", async () => {
  const r = await load(topo().replace("  clusters:", "    - name: again\n      file: anchors/root.crt\n  clusters:"));
  assert.deepEqual(brief(r.diagnostics), ["XL308@9:7"]);
});

test("anchor files are read through the injected reader, relative to the topology", async () => {
  const r = await load(withAnchor("virtual.crt"), { files: { "anchors/virtual.crt": pem("rsa2048.crt") } });
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.topology?.trustAnchors[0]?.file, path.join(FIXTURES, "anchors/virtual.crt"));
});
