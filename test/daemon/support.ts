/** Shared helpers of the daemon tests: git repositories served by the loopback git server, bound to the harness anchor. */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { clusterAccess, loadKubeConfig, type ClusterAccess } from "../../src/kube/access.js";
import { loadTopology } from "../../src/topology/index.js";
import { parseRunConfig, type DaemonConfig } from "../../src/daemon/config.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { FaultProxy } from "../support/tcp-proxy.js";
import type { ClusterClient } from "../../src/kube/port.js";

export { waitFor } from "../support/wait.js";

/** The repository root (tests run from dist/test/daemon). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Where the topology lives inside the test repositories (exercises --path). */
export const TOPOLOGY_PATH = "mesh/multicluster.yaml";

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "test",
  GIT_COMMITTER_EMAIL: "test@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_TERMINAL_PROMPT: "0",
};

/** Runs git; returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** A bare repository `<root>/<name>.git` (HEAD → main) and a working clone at `<root>/<name>-work`. */
export interface TestRepo {
  bare: string;
  work: string;
  name: string;
  /** Commits everything in the work tree and pushes main; returns the commit id. */
  commit(message: string): string;
  /** Writes the topology file (relative to the work tree root). */
  writeTopology(text: string): void;
  /** Reads the topology file. */
  readTopology(): string;
  /** Edits the topology with the yaml Document API and commits. */
  edit(message: string, fn: (doc: ReturnType<typeof parseDocument>) => void): string;
}

/** Creates a repository with the given example at `mesh/`, its anchor replaced by `anchorPem`, and one commit. */
export function createRepo(
  root: string,
  name: string,
  example: string,
  anchorPem: string,
): TestRepo & { first: string } {
  const bare = path.join(root, `${name}.git`);
  const work = path.join(root, `${name}-work`);
  mkdirSync(root, { recursive: true });
  git(root, "init", "-q", "--bare", bare);
  git(bare, "symbolic-ref", "HEAD", "refs/heads/main");
  git(root, "init", "-q", "-b", "main", work);
  git(work, "remote", "add", "origin", bare);
  cpSync(path.join(ROOT, "examples", example), path.join(work, "mesh"), { recursive: true });
  const anchors = path.join(work, "mesh", "anchors");
  mkdirSync(anchors, { recursive: true });
  writeFileSync(path.join(anchors, "root.crt"), anchorPem);
  const file = path.join(work, TOPOLOGY_PATH);
  const repo: TestRepo = {
    bare,
    work,
    name,
    commit(message) {
      git(work, "add", "-A");
      git(work, "commit", "-q", "--allow-empty", "-m", message);
      git(work, "push", "-q", "origin", "HEAD:main");
      return git(work, "rev-parse", "HEAD");
    },
    writeTopology: (text) => writeFileSync(file, text),
    readTopology: () => readFileSync(file, "utf8"),
    edit(message, fn) {
      const doc = parseDocument(readFileSync(file, "utf8"));
      fn(doc);
      writeFileSync(file, doc.toString());
      return repo.commit(message);
    },
  };
  return { ...repo, first: repo.commit("initial mesh") };
}

/**
 * Commits everything in the work tree signed with an armored OpenPGP secret key
 * (isomorphic-git's onSign) and pushes main; returns the commit id.
 */
export async function signedCommit(work: string, armoredSecretKey: string, message: string): Promise<string> {
  const [{ default: fs }, { default: isoGit }, openpgp] = await Promise.all([
    import("node:fs"),
    import("isomorphic-git"),
    import("openpgp"),
  ]);
  git(work, "add", "-A");
  const oid = await isoGit.commit({
    fs,
    dir: work,
    message,
    author: { name: "release", email: "release@example.com" },
    signingKey: armoredSecretKey,
    onSign: async ({ payload, secretKey }) => {
      const signingKeys = await openpgp.readPrivateKey({ armoredKey: secretKey });
      const signature = await openpgp.sign({
        message: await openpgp.createMessage({ binary: new TextEncoder().encode(payload) }),
        signingKeys,
        detached: true,
        format: "armored",
      });
      return { signature: signature as string };
    },
  });
  git(work, "push", "-q", "origin", "HEAD:main");
  return oid;
}

/** What every daemon end-to-end test file runs against: two harness clusters, a served repository, a checking client. */
export interface DaemonEnv {
  tmp: string;
  clusters: StartedClusters;
  server: GitServer;
  repo: TestRepo & { first: string };
  /** Clients for the repository's topology, to read what the daemon did. */
  check: ClusterAccess;
  /** Stops the checking client, the git server and the clusters, and removes the temporary directory. */
  teardown(): Promise<void>;
}

/** Starts workload1 and workload2, a bare repository `mesh` with the podinfo-split example, and the git server. */
export async function setupDaemonEnv(prefix: string): Promise<DaemonEnv> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
  const clusters = await startClusters(["workload1", "workload2"], { log: () => {} });
  const repo = createRepo(path.join(tmp, "repos"), "mesh", "podinfo-split", clusters.trustAnchorPem);
  const server = await startGitServer({ root: path.join(tmp, "repos") });
  const { topology } = await loadTopology({
    file: path.join(repo.work, TOPOLOGY_PATH),
    text: repo.readTopology(),
    readFile: async () => clusters.trustAnchorPem,
  });
  const check = clusterAccess(topology!, loadKubeConfig(clusters.kubeconfigPath), {
    attempts: 2,
    baseDelayMs: 50,
    timeoutMs: 5_000,
  });
  return {
    tmp,
    clusters,
    server,
    repo,
    check,
    async teardown() {
      check.close();
      await server.stop();
      await clusters.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** Where a test daemon's flags point: a served repository `mesh`, a kubeconfig and a scratch directory. */
export interface DaemonArgsEnv {
  server: { url: string };
  clusters: { kubeconfigPath: string };
  tmp: string;
}

/** The flags every test daemon gets: the served repository, the harness kubeconfig, free ports, a cache `cacheName` under tmp. */
export function daemonArgs(env: DaemonArgsEnv, cacheName: string): string[] {
  return [
    "--repo",
    `${env.server.url}/mesh.git`,
    "--path",
    TOPOLOGY_PATH,
    "--webhook-listen",
    "127.0.0.1:0",
    "--metrics-listen",
    "127.0.0.1:0",
    "--status-detail",
    "--kubeconfig",
    env.clusters.kubeconfigPath,
    "--cache-dir",
    path.join(env.tmp, cacheName),
  ];
}

/** A cache directory name no other daemon of the run uses. */
export const freshCache = (): string => `cache-${Math.random().toString(36).slice(2)}`;

/** `crosslink run ARGS` parsed as the daemon would; throws on `--help` (a test never asks for it). */
export function runConfig(args: string[]): DaemonConfig {
  const cfg = parseRunConfig(args, {});
  if (cfg === "help") throw new Error("runConfig: --help");
  return cfg;
}

/**
 * Cluster clients with the tests' short retry policy, from the kubeconfig as loaded once: a new topology keeps
 * the client of a cluster reached the same way (as the daemon's own factory does). Each access is recorded in
 * `into` when given (a kept client is in several: count with `clientTotals`).
 */
export function testClients(kubeconfigPath: string, into?: ClusterAccess[], timeoutMs = 5_000) {
  const kc = loadKubeConfig(kubeconfigPath);
  const mine = new WeakSet<object>();
  return (t: Parameters<typeof clusterAccess>[0], previous?: object): ClusterAccess => {
    const reused = previous && mine.has(previous) ? (previous as ClusterAccess) : undefined;
    const a = clusterAccess(t, kc, { attempts: 2, baseDelayMs: 50, timeoutMs }, undefined, reused);
    mine.add(a);
    into?.push(a);
    return a;
  };
}

/** The clients of these accesses, each once (a client kept for a new topology is in several). */
export function distinctClients(accesses: readonly ClusterAccess[], cluster?: string): Set<ClusterClient> {
  const out = new Set<ClusterClient>();
  for (const a of accesses)
    for (const [name, c] of a.clients) if (cluster === undefined || name === cluster) out.add(c);
  return out;
}

/** Requests and writes of every client of these accesses (of one cluster's when given), each client once. */
export function clientTotals(
  accesses: readonly ClusterAccess[],
  cluster?: string,
): { requests: number; writes: number } {
  let requests = 0;
  let writes = 0;
  for (const c of distinctClients(accesses, cluster)) {
    requests += c.counters.requests;
    writes += c.counters.writes;
  }
  return { requests, writes };
}

/** The podinfo example's split in workload1: the HTTPRoute crosslink renders for it. */
export const SPLIT_ROUTE = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  namespace: "test",
  name: "podinfo-split",
};

type SplitRules = { backendRefs: { weight: number }[] }[];

/** The weights of the split route's backends in a cluster (undefined when there is no route). */
export async function splitWeights(client: ClusterClient): Promise<number[] | undefined> {
  const hr = await client.get(SPLIT_ROUTE);
  return (hr?.spec as { rules: SplitRules } | undefined)?.rules[0]?.backendRefs.map((b) => b.weight);
}

/** What an operator's `kubectl edit` does: the split route's weights changed by a merge patch under another manager. */
export async function handEditWeights(client: ClusterClient, a: number, b: number): Promise<void> {
  const hr = (await client.get(SPLIT_ROUTE))!;
  const rules = structuredClone((hr.spec as { rules: SplitRules }).rules);
  rules[0]!.backendRefs[0]!.weight = a;
  rules[0]!.backendRefs[1]!.weight = b;
  await client.patch(SPLIT_ROUTE, { spec: { rules } }, { fieldManager: "kubectl-edit" });
}

/**
 * One harness cluster reached through a loopback FaultProxy: the proxy (listening) and a copy of the harness
 * kubeconfig, written in `env.tmp`, whose server for that cluster is the proxy (the certificate names 127.0.0.1).
 */
export async function proxiedKubeconfig(
  env: Pick<DaemonEnv, "tmp" | "clusters">,
  cluster: string,
): Promise<{ proxy: FaultProxy; kubeconfig: string }> {
  const server = env.clusters.clusters.find((c) => c.name === cluster)!.server;
  const proxy = FaultProxy.to(server);
  await proxy.listen();
  const kubeconfig = path.join(env.tmp, `kubeconfig-proxied-${cluster}`);
  const text = await readFile(env.clusters.kubeconfigPath, "utf8");
  if (!text.includes(server)) throw new Error(`the harness kubeconfig does not name ${server}`);
  await writeFile(kubeconfig, text.replace(server, `https://127.0.0.1:${proxy.port}`), { mode: 0o600 });
  return { proxy, kubeconfig };
}
