// Build caching, start-up time, seeding options, and that stopping leaves no
// kube-harness process behind (driver stop() and the CLI's up/down).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { ApiException, CoreV1Api } from "@kubernetes/client-node";
import { parse } from "yaml";
import { ensureHarnessBinary, harnessSourceHash } from "./build.js";
import { harnessPidsUnder, pidAlive, startClusters } from "./driver.js";
import { createTrustAnchor, isSignedBy } from "./pki.js";
import { repoRoot } from "./paths.js";

const run = promisify(execFile);
const quiet = { log: () => undefined };

/** kube-harness pids whose --dir is under `dir`, cross-checked with pgrep. */
async function pgrepUnder(dir: string): Promise<number[]> {
  try {
    const { stdout } = await run("pgrep", ["-f", `kube-harness --dir ${dir}`]);
    return stdout.trim().split("\n").filter(Boolean).map(Number).filter(pidAlive);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe("harness build", () => {
  it("is cached by source hash", async () => {
    const a = await ensureHarnessBinary();
    assert.ok(existsSync(a.binary));
    assert.equal(a.hash, await harnessSourceHash());
    const b = await ensureHarnessBinary();
    assert.equal(b.action, "up-to-date");
    assert.ok(b.ms < 2000, `up-to-date check took ${b.ms}ms`);
    assert.equal((await readFile(`${b.binary}.sha256`, "utf8")).trim(), b.hash);
  });
});

describe("driver lifecycle", { timeout: 240_000 }, () => {
  it("starts three seeded clusters (within the driver's ready bound) and stop() leaves no process", async () => {
    const env = await startClusters(["east", "west", "central"], quiet);
    let stopped = false;
    try {
      console.log(`# 3 seeded clusters ready in ${(env.ms / 1000).toFixed(1)}s`);
      assert.equal(env.clusters.length, 3);
      for (const c of env.clusters) {
        assert.ok(pidAlive(c.pid), `${c.name} running`);
        assert.equal(c.dir, path.join(env.dir, c.name));
        assert.ok(existsSync(path.join(c.dir, "harness.log")));
      }
      assert.deepEqual(harnessPidsUnder(env.dir).sort(), env.clusters.map((c) => c.pid).sort());
      assert.equal((await pgrepUnder(env.dir)).length, 3);
      assert.equal(statSync(path.join(env.dir, "trust-anchor.key")).mode & 0o777, 0o600);
      assert.equal(await readFile(path.join(env.dir, "trust-anchor.crt"), "utf8"), env.trustAnchorPem);
      const kc = parse(await readFile(env.kubeconfigPath, "utf8")) as { contexts: { name: string }[] };
      assert.deepEqual(
        kc.contexts.map((c) => c.name),
        ["east", "west", "central"],
      );
      await env.stop();
      stopped = true;
      assert.deepEqual(harnessPidsUnder(env.dir), []);
      assert.deepEqual(await pgrepUnder(env.dir), []);
      for (const c of env.clusters) assert.ok(!pidAlive(c.pid), `${c.name} (pid ${c.pid}) stopped`);
      assert.ok(!existsSync(env.dir), "temp dir removed");
    } finally {
      if (!stopped) await env.stop();
    }
  });

  it("seeds per cluster: bare, a different trust anchor, custom domain and version", async () => {
    const other = await createTrustAnchor();
    const env = await startClusters(["bare", "custom"], {
      ...quiet,
      seed: (name) =>
        name === "bare"
          ? false
          : {
              trustAnchor: other,
              trustDomain: "example.org",
              linkerdVersion: "stable-2.18.0",
              gatewayAddress: "198.51.100.7",
              sampleServices: false,
              crds: ["links.multicluster.linkerd.io"],
            },
    });
    try {
      const bare = env.kubeConfig("bare").makeApiClient(CoreV1Api);
      const status = await bare.readNamespace({ name: "linkerd" }).then(
        () => 200,
        (e: unknown) => (e instanceof ApiException ? e.code : 0),
      );
      assert.equal(status, 404, "bare cluster has no linkerd namespace");
      assert.equal(env.seeds.bare, undefined);

      const custom = env.kubeConfig("custom").makeApiClient(CoreV1Api);
      const cfg = await custom.readNamespacedConfigMap({ name: "linkerd-config", namespace: "linkerd" });
      const values = parse(cfg.data!.values!) as Record<string, string>;
      assert.equal(values.identityTrustAnchorsPEM, other.certPem);
      assert.notEqual(values.identityTrustAnchorsPEM, env.trustAnchorPem);
      assert.equal(values.identityTrustDomain, "example.org");
      assert.equal(values.linkerdVersion, "stable-2.18.0");
      const issuer = await custom.readNamespacedSecret({ name: "linkerd-identity-issuer", namespace: "linkerd" });
      const crt = Buffer.from(issuer.data!["crt.pem"]!, "base64").toString();
      assert.ok(await isSignedBy(crt, other.certPem));
      assert.ok(!(await isSignedBy(crt, env.trustAnchorPem)));
      const gw = await custom.readNamespacedService({ name: "linkerd-gateway", namespace: "linkerd-multicluster" });
      assert.equal(
        gw.metadata?.annotations?.["mirror.linkerd.io/gateway-identity"],
        "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.example.org",
      );
      assert.equal(gw.status?.loadBalancer?.ingress?.[0]?.ip, "198.51.100.7");
      const ns = await custom.listNamespace();
      assert.ok(!ns.items.some((n) => n.metadata?.name === "emojivoto"));
      const { stdout } = await run("/usr/bin/kubectl", [
        "--kubeconfig",
        env.kubeconfigPath,
        "--context",
        "custom",
        "get",
        "crd",
        "-o",
        "name",
      ]);
      assert.deepEqual(stdout.trim().split("\n"), [
        "customresourcedefinition.apiextensions.k8s.io/links.multicluster.linkerd.io",
      ]);
    } finally {
      await env.stop();
    }
    assert.deepEqual(harnessPidsUnder(env.dir), []);
  });

  it("CLI: up runs clusters in the background, refuses a second up, down stops them all", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "crosslink-cli-"));
    const cli = path.join(repoRoot, "dist", "test", "harness", "cli.js");
    try {
      const up = await run(process.execPath, [cli, "up", "solo", "--dir", dir, "--bare"]);
      assert.match(up.stdout, /1 cluster ready in \d+\.\ds/);
      assert.ok(up.stdout.includes(`export KUBECONFIG=${path.join(dir, "kubeconfig")}`));
      const pids = harnessPidsUnder(dir);
      assert.equal(pids.length, 1, "the cluster outlives the CLI");
      const { stdout: ns } = await run("/usr/bin/kubectl", [
        "--kubeconfig",
        path.join(dir, "kubeconfig"),
        "get",
        "ns",
        "default",
        "-o",
        "name",
      ]);
      assert.equal(ns.trim(), "namespace/default");
      const again = await run(process.execPath, [cli, "up", "solo", "--dir", dir]).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already running/);
      const st = await run(process.execPath, [cli, "status", "--dir", dir]);
      assert.match(st.stdout, /solo\s+https:\/\/127\.0\.0\.1:\d+\s+pid \d+\s+ready/);
      const down = await run(process.execPath, [cli, "down", "--dir", dir]);
      assert.match(down.stdout, /stopped solo/);
      assert.deepEqual(harnessPidsUnder(dir), []);
      assert.ok(!existsSync(path.join(dir, "clusters.json")));
    } finally {
      for (const pid of harnessPidsUnder(dir)) process.kill(pid, "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("driver failures", { timeout: 60_000 }, () => {
  it("fails fast with the log tail when a cluster exits before it is ready", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = await mkdtemp(path.join(os.tmpdir(), "crosslink-fail-"));
    try {
      const t0 = Date.now();
      await assert.rejects(startClusters(["busy"], { ...quiet, dir, ports: [port], seed: false }), (e: Error) => {
        assert.match(e.message, /kube-harness busy exited before it was ready/);
        assert.match(e.message, /address already in use/);
        return true;
      });
      assert.ok(Date.now() - t0 < 20_000, "failed fast");
      assert.deepEqual(harnessPidsUnder(dir), []);
    } finally {
      blocker.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects bad cluster names", async () => {
    await assert.rejects(startClusters(["East"], quiet), /invalid cluster name/);
    await assert.rejects(startClusters(["a", "a"], quiet), /duplicate/);
  });
});
