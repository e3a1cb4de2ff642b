/**
 * The git source against `git http-backend` on loopback: shallow clone of the
 * followed ref, a no-change sync that downloads no objects, tags, pinned
 * commits, basic auth from the environment, a stopped server, and OpenPGP
 * commit signatures.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import git from "isomorphic-git";
import * as openpgp from "openpgp";
import { GitSource } from "../../src/source/git.js";
import { LocalSource } from "../../src/source/local.js";
import { readTrustedKeys } from "../../src/source/signature.js";
import { SourceError } from "../../src/source/errors.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { createRepo, git as gitCli, TOPOLOGY_PATH, type TestRepo } from "./support.js";

const PEM = "-----BEGIN CERTIFICATE-----\nnot used here\n-----END CERTIFICATE-----\n";
let tmp: string;
let server: GitServer;
let authServer: GitServer;
let repo: TestRepo & { first: string };

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-source-"));
  repo = createRepo(path.join(tmp, "repos"), "mesh", "podinfo-split", PEM);
  server = await startGitServer({ root: path.join(tmp, "repos") });
  authServer = await startGitServer({
    root: path.join(tmp, "repos"),
    auth: { username: "bot", password: "s3cret-token" },
  });
});

after(async () => {
  await server?.stop();
  await authServer?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const cache = (name: string) => path.join(tmp, "cache", name);

test("branch: shallow clone, then a sync that finds the branch unmoved downloads no objects", async () => {
  const src = new GitSource({
    url: `${server.url}/mesh.git`,
    ref: { branch: "main" },
    path: TOPOLOGY_PATH,
    cacheDir: cache("branch"),
  });
  const s1 = await src.sync();
  assert.equal(s1.revision, repo.first);
  assert.equal(s1.changed, true);
  assert.match(Buffer.from(await s1.readFile(TOPOLOGY_PATH)).toString(), /kind: Topology/);
  assert.match(Buffer.from(await s1.readFile("mesh/anchors/root.crt")).toString(), /BEGIN CERTIFICATE/);
  await assert.rejects(s1.readFile("../etc/passwd"));
  assert.equal(fs.readFileSync(path.join(cache("branch"), ".git", "shallow"), "utf8").trim(), repo.first, "shallow");

  server.resetStats();
  const s2 = await src.sync();
  assert.equal(s2.changed, false);
  assert.equal(s2.revision, repo.first);
  assert.equal(server.stats.requests, 1, server.stats.paths.join(", "));
  assert.ok(
    !server.stats.paths.some((p) => p.includes("git-upload-pack") && !p.includes("info/refs")),
    "no upload-pack POST",
  );

  const second = repo.edit("weights 90/10", (d) => d.setIn(["spec", "splits", 0, "backends", 0, "weight"], 90));
  const s3 = await src.sync();
  assert.equal(s3.revision, second);
  assert.equal(s3.changed, true);
  assert.match(Buffer.from(await s3.readFile(TOPOLOGY_PATH)).toString(), /weight: 90/);
  assert.equal(s3.message, "weights 90/10");
});

test("tag and pinned commit", async () => {
  gitCli(repo.work, "tag", "-a", "v1", "-m", "release v1", repo.first);
  gitCli(repo.work, "push", "-q", "origin", "v1");
  const tagged = await new GitSource({
    url: `${server.url}/mesh.git`,
    ref: { tag: "v1" },
    path: TOPOLOGY_PATH,
    cacheDir: cache("tag"),
  }).sync();
  assert.equal(tagged.revision, repo.first, "annotated tag peeled to its commit");
  const pinned = new GitSource({
    url: `${server.url}/mesh.git`,
    ref: { commit: repo.first },
    path: TOPOLOGY_PATH,
    cacheDir: cache("pin"),
  });
  assert.equal((await pinned.sync()).revision, repo.first);
  server.resetStats();
  assert.equal((await pinned.sync()).changed, false);
  assert.equal(server.stats.requests, 0, "a pinned commit needs no network once cached");
  const missing = new GitSource({ url: `${server.url}/mesh.git`, ref: { branch: "nope" }, cacheDir: cache("nope") });
  await assert.rejects(missing.sync(), (e: unknown) => e instanceof SourceError && e.code === "SOURCE_REF_NOT_FOUND");
});

test("basic auth from credentials; a wrong password is SOURCE_AUTH and the secret never appears in the error", async () => {
  const url = `${authServer.url}/mesh.git`;
  const ok = new GitSource({
    url,
    ref: { branch: "main" },
    path: TOPOLOGY_PATH,
    cacheDir: cache("auth"),
    credentials: { username: "bot", password: "s3cret-token" },
  });
  assert.ok((await ok.sync()).revision);
  const tokenFile = path.join(tmp, "token");
  fs.writeFileSync(tokenFile, "s3cret-token\n");
  const viaFile = new GitSource({
    url,
    ref: { branch: "main" },
    cacheDir: cache("auth-file"),
    credentials: { username: "bot", tokenFile },
  });
  assert.ok((await viaFile.sync()).revision);
  const bad = new GitSource({
    url,
    ref: { branch: "main" },
    cacheDir: cache("auth-bad"),
    credentials: { username: "bot", password: "wrong-pass" },
  });
  await assert.rejects(
    bad.sync(),
    (e: unknown) => e instanceof SourceError && e.code === "SOURCE_AUTH" && !e.message.includes("wrong-pass"),
  );
  const none = new GitSource({ url, ref: { branch: "main" }, cacheDir: cache("auth-none") });
  await assert.rejects(none.sync(), (e: unknown) => e instanceof SourceError && e.code === "SOURCE_AUTH");
});

test("a stopped server is SOURCE_FETCH; the source recovers when it returns", async () => {
  const src = new GitSource({ url: `${server.url}/mesh.git`, ref: { branch: "main" }, cacheDir: cache("stop") });
  await src.sync();
  await server.stop();
  try {
    await assert.rejects(src.sync(), (e: unknown) => e instanceof SourceError && e.code === "SOURCE_FETCH");
  } finally {
    await server.start();
  }
  assert.equal((await src.sync()).changed, false);
});

test("signatures: a commit signed by a trusted key is accepted; unsigned or signed by another key is refused", async () => {
  const trusted = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "release", email: "release@example.com" }],
    format: "armored",
  });
  const other = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "mallory", email: "m@example.com" }],
    format: "armored",
  });
  const keys = await readTrustedKeys([trusted.publicKey]);
  const signed = async (secret: string, message: string) => {
    const dir = repo.work;
    await git.add({ fs, dir, filepath: "." });
    const oid = await git.commit({
      fs,
      dir,
      message,
      author: { name: "release", email: "release@example.com" },
      signingKey: secret,
      onSign: async ({ payload, secretKey }) => {
        const signingKeys = await openpgp.readPrivateKey({ armoredKey: secretKey });
        const sig = await openpgp.sign({
          message: await openpgp.createMessage({ binary: new TextEncoder().encode(payload) }),
          signingKeys,
          detached: true,
          format: "armored",
        });
        return { signature: sig as string };
      },
    });
    gitCli(dir, "push", "-q", "origin", "HEAD:main");
    return oid;
  };
  const src = () =>
    new GitSource({
      url: `${server.url}/mesh.git`,
      ref: { branch: "main" },
      cacheDir: cache(`sig-${Math.random()}`),
      trustedKeys: keys,
    });
  fs.appendFileSync(path.join(repo.work, "README.signed"), "a\n");
  const good = await signed(trusted.privateKey, "signed by the release key");
  assert.equal((await src().sync()).revision, good);
  assert.match(gitCli(repo.work, "cat-file", "-p", good), /gpgsig/);

  fs.appendFileSync(path.join(repo.work, "README.signed"), "b\n");
  const forged = await signed(other.privateKey, "signed by another key");
  await assert.rejects(
    src().sync(),
    (e: unknown) =>
      e instanceof SourceError &&
      e.code === "SOURCE_SIGNATURE" &&
      e.revision === forged &&
      /not a trusted key/.test(e.message),
  );

  const unsigned = repo.commit("unsigned");
  await assert.rejects(
    src().sync(),
    (e: unknown) =>
      e instanceof SourceError &&
      e.code === "SOURCE_SIGNATURE" &&
      e.revision === unsigned &&
      /not signed/.test(e.message),
  );
});

test("local directory source: the revision changes with the files", async () => {
  const dir = path.join(repo.work);
  const src = new LocalSource(dir, TOPOLOGY_PATH);
  const a = await src.sync();
  assert.equal(a.changed, true);
  assert.equal((await src.sync()).changed, false);
  fs.appendFileSync(path.join(dir, "mesh", "anchors", "root.crt"), "\n");
  const b = await src.sync();
  assert.equal(b.changed, true);
  assert.notEqual(a.revision, b.revision);
  await assert.rejects(b.readFile("../../etc/passwd"));
});
