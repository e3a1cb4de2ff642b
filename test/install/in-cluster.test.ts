/**
 * In-cluster mode as a process: `crosslink run` with the environment a pod
 * has (KUBERNETES_SERVICE_HOST/PORT, a ServiceAccount directory holding a
 * TokenRequest token, the cluster's CA and the namespace) and no kubeconfig
 * for its own cluster. The ServiceAccount and its RBAC are examples/deploy's,
 * applied to the harness cluster `east`; `west` comes from a kubeconfig
 * directory. It must take the Lease in east, reconcile east through the
 * ServiceAccount and west through the kubeconfig; when the token it runs
 * with is invalidated it loses the Lease, and when the token file is
 * replaced with a new token it uses that one without a restart. West's
 * kubeconfig file replaced with bad credentials fails west alone; restored,
 * west converges again, also without a restart.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFile, cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parse, parseAllDocuments, stringify } from "yaml";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { clientForContext } from "../../src/kube/access.js";
import { toKubeconfig } from "../harness/kube.js";
import type { HttpClusterClient } from "../../src/kube/http-client.js";
import type { KubeObject } from "../../src/kube/object.js";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { ROOT, waitFor } from "../daemon/support.js";
import { linkerdConfigMapWatches } from "../chart/rbac.js";

let tmp: string;
let clusters: StartedClusters;
let admin: HttpClusterClient;
let child: ChildProcess | undefined;
let output = "";

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-in-cluster-"));
  clusters = await startClusters(["east", "west"], { log: () => {} });
  admin = clientForContext(toKubeconfig(clusters.kubeConfig("east")), "east", "east")!;
});

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  admin?.close();
  await clusters?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** A TokenRequest for crosslink/crosslink bound to a Secret: deleting the Secret invalidates the token. */
async function boundToken(secret: string): Promise<string> {
  const s = await admin.apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: secret, namespace: "crosslink" },
    type: "Opaque",
  });
  const body = JSON.stringify({
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: {
      expirationSeconds: 3600,
      boundObjectRef: { apiVersion: "v1", kind: "Secret", name: secret, uid: s.metadata.uid },
    },
  });
  const opts: https.RequestOptions = {};
  await clusters.kubeConfig("east").applyToHTTPSOptions(opts);
  const url = new URL("/api/v1/namespaces/crosslink/serviceaccounts/crosslink/token", admin.server);
  const text = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      url,
      {
        ...opts,
        method: "POST",
        headers: { ...(opts.headers as object), "Content-Type": "application/json" },
        timeout: 10_000,
      },
      (res) => {
        let out = "";
        res.on("data", (c: Buffer) => (out += c.toString()));
        res.on("end", () => (res.statusCode === 201 ? resolve(out) : reject(new Error(`${res.statusCode} ${out}`))));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("TokenRequest timed out")));
    req.end(body);
  });
  return (JSON.parse(text) as { status: { token: string } }).status.token;
}

/** Replaces the token file the way the kubelet does: a new file renamed over the old one. */
async function writeToken(dir: string, token: string): Promise<void> {
  await writeFile(path.join(dir, "token.new"), token);
  await rename(path.join(dir, "token.new"), path.join(dir, "token"));
}

test("in a pod's environment: Lease and the local cluster through the ServiceAccount, a replaced token file used without a restart", async () => {
  // The ServiceAccount and its RBAC, as examples/deploy ships them.
  for (const file of ["namespace.yaml", "rbac.yaml", "managed-cluster-rbac.yaml"])
    for (const doc of parseAllDocuments(await readFile(path.join(ROOT, "examples", "deploy", file), "utf8")))
      await admin.apply(doc.toJS() as KubeObject);

  const sa = path.join(tmp, "serviceaccount");
  await mkdir(sa);
  await writeToken(sa, await boundToken("token-one"));
  await writeFile(path.join(sa, "ca.crt"), admin.caPem!);
  await writeFile(path.join(sa, "namespace"), "crosslink");
  // Only west has a kubeconfig; east is reached through the ServiceAccount or not at all.
  const kubeconfigs = path.join(tmp, "kubeconfigs");
  await mkdir(kubeconfigs);
  await copyFile(clusters.clusters.find((c) => c.name === "west")!.kubeconfig, path.join(kubeconfigs, "west"));
  const repo = path.join(tmp, "repo");
  await cp(path.join(ROOT, "examples", "east-west"), repo, { recursive: true });
  await writeFile(path.join(repo, "anchors", "root.crt"), clusters.trustAnchorPem);

  const east = clusters.clusters.find((c) => c.name === "east")!;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: tmp,
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: String(east.port),
    CROSSLINK_SERVICEACCOUNT_DIR: sa,
    POD_NAME: "crosslink-0",
    CROSSLINK_LOG_LEVEL: "info",
  };
  child = spawn(
    process.execPath,
    [
      path.join(ROOT, "bin", "crosslink.js"),
      "run",
      "--repo",
      repo,
      "--local-cluster",
      "east",
      "--kubeconfig-dir",
      kubeconfigs,
      "--leader-elect",
      "--lease-duration",
      "3s",
      "--schedule",
      "*/2 * * * * *",
      "--webhook-listen",
      "127.0.0.1:0",
      "--metrics-listen",
      "127.0.0.1:0",
      "--cache-dir",
      path.join(tmp, "cache"),
      "--backoff-max",
      "4s",
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const url = await waitFor(
    "the daemon to start",
    () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1],
    30_000,
  );
  assert.match(output, new RegExp(`"inCluster":\\{"server":"https://127.0.0.1:${east.port}","localCluster":"east"\\}`));
  const status = async () => (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
  const converged = (s: DaemonStatus, since: number) =>
    s.role === "leader" &&
    s.lastReconcile !== undefined &&
    Date.parse(s.lastReconcile.at) > since &&
    s.lastReconcile.result === "ok" &&
    s.clusters.length === 2 &&
    s.clusters.every((c) => c.state === "ok");

  const started = Date.now();
  await waitFor("leader, both clusters reconciled", async () => converged(await status(), started), 60_000, 250);
  const lease = await admin.get({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: "crosslink",
    name: "crosslink",
  });
  assert.equal((lease?.spec as { holderIdentity?: string }).holderIdentity, "crosslink-0");
  // Through examples/deploy's Linkerd-namespace Role: one LIST+WATCH of that namespace's ConfigMaps in east,
  // not the GETs by name.
  assert.deepEqual(linkerdConfigMapWatches((await status()).watches ?? [], "east"), ["linkerd (all)"]);
  // east's export was written through the ServiceAccount (the only way the process reaches east).
  const web = await admin.get({ apiVersion: "v1", kind: "Service", namespace: "emojivoto", name: "web-svc" });
  assert.equal(web?.metadata.labels?.["mirror.linkerd.io/exported"], "true");
  assert.ok(web?.metadata.managedFields?.some((m) => m.manager === "crosslink"));

  // Invalidate the token the process holds: it can no longer renew, so it stops being the leader.
  await admin.delete({ apiVersion: "v1", kind: "Secret", namespace: "crosslink", name: "token-one" });
  await waitFor("leadership lost with the invalidated token", async () => (await status()).role === "follower", 30_000);

  // The kubelet rotates the token file: the new token is read and used, no restart.
  await writeToken(sa, await boundToken("token-two"));
  const rotated = Date.now();
  await waitFor(
    "leader again and both clusters reconciled",
    async () => converged(await status(), rotated),
    60_000,
    250,
  );
  assert.equal(child.exitCode, null, "the same process");

  // A rotated kubeconfig Secret: west's file now carries a token west refuses, then the good one again.
  const westFile = path.join(kubeconfigs, "west");
  const good = await readFile(westFile, "utf8");
  const doc = parse(good) as { users: { name: string; user: Record<string, string> }[] };
  for (const u of doc.users) u.user = { token: "not-a-valid-token" };
  await writeFile(`${westFile}.new`, stringify(doc));
  await rename(`${westFile}.new`, westFile);
  const refused = await waitFor(
    "west refused with the rotated-in bad credentials, east still reconciled",
    async () => {
      const s = await status();
      const west = s.clusters.find((c) => c.name === "west");
      const east = s.clusters.find((c) => c.name === "east");
      return west && west.state !== "ok" && east?.state === "ok" ? s : undefined;
    },
    60_000,
    250,
  );
  assert.equal(refused.role, "leader");
  await writeFile(`${westFile}.new`, good);
  await rename(`${westFile}.new`, westFile);
  const restored = Date.now();
  await waitFor(
    "west reconciled again with the restored file",
    async () => converged(await status(), restored),
    60_000,
    250,
  );
  assert.match(output, /kubeconfig files changed; clients rebuilt/);
  assert.doesNotMatch(output, /eyJ[\w-]{20,}|not-a-valid-token/, "no token in the logs");

  child.kill("SIGTERM");
  const code = await new Promise<number | null>((r) => child!.once("exit", (c) => r(c)));
  assert.equal(code, 0, output.slice(-2000));
});
