/** crosslink's anchor and issuer: Linkerd's profile, checked field by field; wrong key material refused with a code. */
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import test from "node:test";
import { createAnchor, createIssuer } from "../../../src/pki/x509.js"; // first: it loads the Reflect polyfill
import * as x509 from "@peculiar/x509";
import { issuerSecret } from "../../../src/pki/issuer-secret.js";
import { chainsTo } from "../../../src/pki/pem.js";
import { checkPem } from "../../../src/topology/index.js";

const YEAR = 365 * 86_400_000;

function constraints(pem: string) {
  const c = new x509.X509Certificate(pem);
  const bc = c.getExtension(x509.BasicConstraintsExtension)!;
  const ku = c.getExtension(x509.KeyUsagesExtension)!;
  return { ca: bc.ca, pathLength: bc.pathLength, bcCritical: bc.critical, usages: ku.usages, kuCritical: ku.critical };
}

test("anchor: P-256 root CA, pathlen 1, certSign+cRLSign (critical), passes the topology's anchor checks", async () => {
  const a = await createAnchor({ lifetimeMs: 10 * YEAR });
  const c = new X509Certificate(a.certPem);
  assert.equal(c.subject, "CN=root.linkerd.cluster.local");
  assert.equal(c.issuer, c.subject);
  assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.deepEqual(constraints(a.certPem), {
    ca: true,
    pathLength: 1,
    bcCritical: true,
    usages: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    kuCritical: true,
  });
  assert.deepEqual(checkPem(a.certPem, Date.now()).problems, []);
  assert.match(a.keyPem, /^-----BEGIN EC PRIVATE KEY-----/);
  assert.equal(createPrivateKey(a.keyPem).asymmetricKeyType, "ec");
});

test("issuer: intermediate CA, pathlen 0, chained to the anchor, never outliving it", async () => {
  const a = await createAnchor({ lifetimeMs: YEAR });
  const i = await createIssuer(a, { lifetimeMs: 2 * YEAR, commonName: "identity.linkerd.example.org" });
  const c = new X509Certificate(i.certPem);
  assert.equal(c.subject, "CN=identity.linkerd.example.org");
  assert.equal(c.issuer, "CN=root.linkerd.cluster.local");
  assert.equal(constraints(i.certPem).pathLength, 0);
  assert.ok(chainsTo(i.certPem, a.certPem));
  assert.equal(c.validTo, new X509Certificate(a.certPem).validTo, "capped at the anchor's notAfter");
  const other = await createAnchor({ lifetimeMs: YEAR });
  assert.ok(!chainsTo(i.certPem, other.certPem));
});

test("wrong key material: a key of another anchor (PKI_KEY_MISMATCH), not a key or not P-256 (PKI_BAD_ANCHOR); no key text in messages", async () => {
  const a = await createAnchor({ lifetimeMs: YEAR });
  const b = await createAnchor({ lifetimeMs: YEAR });
  await assert.rejects(
    createIssuer({ certPem: a.certPem, keyPem: b.keyPem }, { lifetimeMs: YEAR }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "PKI_KEY_MISMATCH");
      assert.doesNotMatch(e.message, /PRIVATE KEY/);
      return true;
    },
  );
  await assert.rejects(createIssuer({ certPem: a.certPem, keyPem: "not a key" }, { lifetimeMs: YEAR }), {
    code: "PKI_BAD_ANCHOR",
  });
  const rsa = (await import("node:crypto")).generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rsaPem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  await assert.rejects(createIssuer({ certPem: a.certPem, keyPem: rsaPem }, { lifetimeMs: YEAR }), {
    code: "PKI_BAD_ANCHOR",
  });
});

test("issuer Secret in each of Linkerd's schemes", async () => {
  const a = await createAnchor({ lifetimeMs: YEAR });
  const i = await createIssuer(a, { lifetimeMs: YEAR });
  const l = issuerSecret("linkerd", "linkerd.io/tls", i, a.certPem);
  assert.equal(l.type, "Opaque");
  assert.deepEqual(Object.keys(l.data as object).sort(), ["crt.pem", "key.pem"]);
  const k = issuerSecret("linkerd", "kubernetes.io/tls", i, a.certPem);
  assert.equal(k.type, "kubernetes.io/tls");
  assert.deepEqual(Object.keys(k.data as object).sort(), ["ca.crt", "tls.crt", "tls.key"]);
  assert.equal(Buffer.from((k.data as Record<string, string>)["ca.crt"]!, "base64").toString(), a.certPem);
  assert.equal(k.metadata.name, "linkerd-identity-issuer");
});
