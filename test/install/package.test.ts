/**
 * crosslink as users install it. The project (its files as git lists them) is
 * copied and packed with `npm pack` (whose prepare step compiles src/); the
 * tarball is checked (only dist/src, schema, bin, README and package.json, no
 * source maps, harness, tests or benchmarks) and installed into an empty
 * prefix with production dependencies only (from the npm cache where it has
 * them). From there: `crosslink --version`, `validate` on an example, `diff`
 * against harness clusters; the Dockerfile's steps without Docker (the same
 * install, then its entry point and command as its non-root user, with its
 * environment: the daemon converges the clusters and writes nothing into the
 * installation); and examples/ci's pipelines run as written, their image
 * stood in for by that installation.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmodSync, chownSync, readdirSync, statSync } from "node:fs";
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { createRepo, git, ROOT, TOPOLOGY_PATH, waitFor } from "../daemon/support.js";
import { imageSpec } from "../support/dockerfile.js";
import { startGitServer } from "../support/git-server.js";

const run = promisify(execFile);
const IMAGE_USER = 65532;
const asRoot = process.getuid?.() === 0;

let tmp: string;
let tarball: string;
let prefix: string;
let clusters: StartedClusters;
let kubeconfig: string;
let topologyDir: string;
const version = (JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** Runs the installed crosslink (PATH = the prefix's bin first, as in the image). */
function installedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: `${prefix}/bin:${process.env.PATH}`, HOME: tmp, ...extra };
}
async function crosslink(args: string[], cwd = tmp): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(path.join(prefix, "bin", "crosslink"), args, { cwd, env: installedEnv() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every file under a directory with its size and modification time. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((d) => path.join(d.parentPath, d.name))
    .map((f) => {
      const s = statSync(f);
      return `${path.relative(dir, f)} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "crosslink-package-"));
  await chmod(tmp, 0o755);
  const started = Date.now();
  clusters = await startClusters(["east", "west"], { log: () => {} });

  // Pack a copy: `npm pack` runs prepare, which replaces dist/src, and other test files run from this tree's dist/.
  const source = path.join(tmp, "source");
  const { stdout: listed } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  for (const f of listed.split("\0").filter(Boolean)) {
    const from = path.join(ROOT, f);
    try {
      if (!statSync(from).isFile()) continue;
    } catch {
      continue; // listed but deleted in the work tree
    }
    await mkdir(path.dirname(path.join(source, f)), { recursive: true });
    await copyFile(from, path.join(source, f));
  }
  await symlink(path.join(ROOT, "node_modules"), path.join(source, "node_modules"));
  const packStart = Date.now();
  await run("npm", ["pack", "--pack-destination", tmp, "--no-audit", "--no-fund"], {
    cwd: source,
    maxBuffer: 64 << 20,
  });
  tarball = path.join(tmp, `crosslink-${version}.tgz`);
  const packMs = Date.now() - packStart;

  prefix = path.join(tmp, "prefix");
  await mkdir(prefix);
  const installStart = Date.now();
  await run(
    "npm",
    ["install", "--global", "--prefix", prefix, "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", tarball],
    { cwd: tmp, env: { ...process.env, NODE_ENV: "production" }, maxBuffer: 64 << 20 },
  );
  console.log(
    `# pack ${packMs} ms, install ${Date.now() - installStart} ms (clusters and copy ${packStart - started} ms)`,
  );

  kubeconfig = path.join(tmp, "kubeconfig");
  await copyFile(clusters.kubeconfigPath, kubeconfig);
  await chmod(kubeconfig, 0o644); // readable by the image's user below
  topologyDir = path.join(tmp, "topology");
  await cp(path.join(ROOT, "examples", "east-west"), topologyDir, { recursive: true });
  await writeFile(path.join(topologyDir, "anchors", "root.crt"), clusters.trustAnchorPem);
});

after(async () => {
  await clusters?.stop();
  await rm(tmp, { recursive: true, force: true });
});

test("the tarball holds the built CLI, the schema and the README, and nothing of the harness, tests or benchmarks", async () => {
  const { stdout } = await run("tar", ["tzf", tarball], { maxBuffer: 16 << 20 });
  const entries = stdout.split("\n").filter((e) => e && !e.endsWith("/"));
  const size = statSync(tarball).size;
  console.log(`# tarball ${size} bytes, ${entries.length} files`);
  const outside = entries.filter(
    (e) => !/^package\/(dist\/src\/.+\.js|schema\/[^/]+\.json|bin\/crosslink\.js|README\.md|package\.json)$/.test(e),
  );
  assert.deepEqual(outside, []);
  for (const needed of [
    "package/bin/crosslink.js",
    "package/dist/src/cli/main.js",
    "package/schema/multicluster.schema.json",
  ])
    assert.ok(entries.includes(needed), needed);
  assert.ok(!entries.some((e) => /harness|\/test\/|\/bench\/|\.map$/.test(e)));
  const pkg = JSON.parse(
    (await run("tar", ["xzfO", tarball, "package/package.json"], { maxBuffer: 1 << 20 })).stdout,
  ) as { bin: Record<string, string>; dependencies: Record<string, string> };
  assert.equal(pkg.bin.crosslink, "bin/crosslink.js");
  assert.ok(!("crosslink" in pkg.dependencies), "no self-dependency");
  assert.ok(size < 1_000_000, `tarball ${size} bytes`);
});

test("installed with production dependencies only: --version, validate, and diff against harness clusters", async () => {
  const installed = path.join(prefix, "lib", "node_modules", "crosslink");
  const modules = readdirSync(path.join(installed, "node_modules"));
  for (const dev of [
    "typescript",
    "typescript-eslint",
    "eslint",
    "madge",
    "marked",
    "mermaid",
    "playwright-core",
    "prettier",
  ])
    assert.ok(!modules.includes(dev), `dev dependency ${dev} installed`);
  const runtime = Object.keys(
    (JSON.parse(await readFile(path.join(installed, "package.json"), "utf8")) as { dependencies: object }).dependencies,
  );
  for (const dep of runtime) assert.ok(modules.includes(dep.split("/")[0]!), dep);

  const v = await crosslink(["--version"]);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), `crosslink ${version}`);
  const valid = await crosslink(["validate", path.join(topologyDir, "multicluster.yaml")]);
  assert.equal(valid.code, 0, valid.stdout + valid.stderr);
  const diff = await crosslink(["diff", "-f", path.join(topologyDir, "multicluster.yaml"), "--kubeconfig", kubeconfig]);
  assert.equal(diff.code, 2, `2 = changes pending: ${diff.stdout}${diff.stderr}`);
  assert.match(diff.stdout, /east/);
  assert.match(diff.stdout, /west/);
});

test("the image's steps without Docker: its entry point as its non-root user converges the clusters and writes nothing into the installation", async () => {
  const image = await imageSpec(ROOT);
  assert.match(image.from, /^node:(\d*[02468])-slim$/, "a Node LTS (even major) slim base");
  assert.match(
    image.run,
    /npm install --global --omit=dev .*\/tmp\/crosslink\.tgz/,
    "the tarball, production dependencies only",
  );
  assert.equal(image.user, `${IMAGE_USER}:${IMAGE_USER}`);
  assert.deepEqual([...image.entry, ...image.cmd], ["crosslink", "run"]);
  assert.equal(image.env.CROSSLINK_CACHE_DIR, "/var/cache/crosslink");

  // The repository served over HTTP, as a daemon follows it: its objects go to the cache directory.
  const repos = path.join(tmp, "repos");
  createRepo(repos, "mesh", "east-west", clusters.trustAnchorPem);
  const server = await startGitServer({ root: repos });
  const cache = path.join(tmp, "var-cache-crosslink");
  await mkdir(cache);
  if (asRoot) chownSync(cache, IMAGE_USER, IMAGE_USER);
  const before = snapshot(prefix);
  const env = installedEnv({
    ...image.env,
    CROSSLINK_CACHE_DIR: cache, // the image's path, here under the test's directory
    HOME: "/nonexistent",
    CROSSLINK_REPO: `${server.url}/mesh.git`,
    CROSSLINK_PATH: TOPOLOGY_PATH,
    CROSSLINK_KUBECONFIG: kubeconfig,
    CROSSLINK_WEBHOOK_LISTEN: "127.0.0.1:0",
    CROSSLINK_METRICS_LISTEN: "127.0.0.1:0",
    CROSSLINK_SCHEDULE: "*/2 * * * * *",
  });
  const child = spawn(image.entry[0]!, [...image.entry.slice(1), ...image.cmd], {
    env,
    cwd: cache,
    stdio: ["ignore", "pipe", "pipe"],
    ...(asRoot ? { uid: IMAGE_USER, gid: IMAGE_USER } : {}),
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  try {
    const url = await waitFor(
      "the daemon to start",
      () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1],
      30_000,
    );
    const status = await waitFor(
      "both clusters reconciled",
      async () => {
        const s = (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
        return s.lastReconcile?.result === "ok" && s.clusters.length === 2 && s.clusters.every((c) => c.state === "ok")
          ? s
          : undefined;
      },
      90_000,
      250,
    );
    assert.equal(status.detail, false);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    assert.equal(code, 0, out.slice(-2000));
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await server.stop();
  }
  assert.deepEqual(snapshot(prefix), before, "nothing written into the installation");
  assert.ok(readdirSync(cache).length > 0, "the cache directory is where it writes");
});

/** A `docker run` stand-in for crosslink's image: the installation above, run as the image's user in the mounted directory. */
async function dockerStandIn(bin: string, expectedImage: string): Promise<void> {
  await mkdir(bin, { recursive: true });
  const uid = asRoot ? `setpriv --reuid=${IMAGE_USER} --regid=${IMAGE_USER} --clear-groups ` : "";
  await writeFile(
    path.join(bin, "docker"),
    `#!/usr/bin/env bash
set -euo pipefail
[ "$1" = run ] || { echo "docker stand-in: only 'run'" >&2; exit 125; }
shift
src= dst= wd=
while [ $# -gt 0 ]; do
  case "$1" in
    --rm) shift ;;
    -v) IFS=: read -r src dst _ <<<"$2"; shift 2 ;;
    -w) wd=$2; shift 2 ;;
    -*) echo "docker stand-in: unexpected flag $1" >&2; exit 125 ;;
    *) break ;;
  esac
done
[ "$1" = ${JSON.stringify(expectedImage)} ] || { echo "docker stand-in: image $1" >&2; exit 125; }
shift
[ "$wd" = "$dst" ] || { echo "docker stand-in: -w $wd is not the mount $dst" >&2; exit 125; }
cd "$src"
exec ${uid}${prefix}/bin/crosslink "$@"
`,
  );
  chmodSync(path.join(bin, "docker"), 0o755);
}

/** A mesh repository with two commits: the east-west example, then a new export. */
async function meshRepo(dir: string): Promise<{ base: string; head: string }> {
  await cp(topologyDir, dir, { recursive: true });
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", "-A");
  git(dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "mesh");
  const base = git(dir, "rev-parse", "HEAD").trim();
  const file = path.join(dir, "multicluster.yaml");
  await writeFile(
    file,
    (await readFile(file, "utf8")).replace("services: [web-svc]", "services: [web-svc, emoji-svc]"),
  );
  git(dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "export emoji-svc");
  readdirSync(dir, { recursive: true }).forEach((f) =>
    chmodSync(path.join(dir, String(f)), statSync(path.join(dir, String(f))).isDirectory() ? 0o755 : 0o644),
  );
  chmodSync(dir, 0o755);
  return { base, head: git(dir, "rev-parse", "HEAD").trim() };
}

test("examples/ci run as written: the GitHub workflow's steps with its image, the GitLab job's script in its image", async () => {
  const wf = parse(await readFile(path.join(ROOT, "examples", "ci", "github-actions.yml"), "utf8")) as {
    env: Record<string, string>;
    jobs: { plan: { steps: { name?: string; run?: string; env?: Record<string, string> }[] } };
  };
  const image = /crosslink\/crosslink:\S+/.exec(wf.env.CROSSLINK!)?.[0];
  assert.equal(image, `crosslink/crosslink:${version}`, "the image of this version");
  const work = path.join(tmp, "gh", "workspace");
  const { base, head } = await meshRepo(work);
  const bin = path.join(tmp, "gh", "bin");
  await dockerStandIn(bin, image!);
  const expressions: Record<string, string> = {
    "github.workspace": work,
    "github.event.pull_request.base.sha": base,
    "github.event.pull_request.head.sha": head,
  };
  const evaluate = (text: string) =>
    text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, e: string) => {
      assert.ok(e in expressions, `expression ${e}`);
      return expressions[e]!;
    });
  const output = path.join(tmp, "gh", "output");
  const summary = path.join(tmp, "gh", "summary");
  const jobEnv = Object.fromEntries(Object.entries(wf.env).map(([k, v]) => [k, evaluate(v)]));
  for (const step of wf.jobs.plan.steps.filter((s) => /^crosslink (validate|plan)$/.test(s.name ?? ""))) {
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(v)]));
    await run("bash", ["-e", "-c", evaluate(step.run!)], {
      cwd: work,
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        ...jobEnv,
        ...stepEnv,
      },
    });
  }
  assert.equal((await readFile(output, "utf8")).trim(), "exit=2", "the plan has changes: the check passes");
  const plan = await readFile(path.join(work, "plan.md"), "utf8");
  assert.match(plan, /<!-- crosslink-plan -->/);
  assert.match(plan, /emoji-svc/);
  assert.equal(await readFile(summary, "utf8"), plan);

  const job = (
    parse(await readFile(path.join(ROOT, "examples", "ci", "gitlab-ci.yml"), "utf8")) as Record<
      string,
      { image: { name: string; entrypoint: string[] }; variables: Record<string, string>; script: string[] }
    >
  )["crosslink-plan"]!;
  assert.equal(job.image.name, `crosslink/crosslink:${version}`);
  assert.deepEqual(job.image.entrypoint, [""]);
  const mr = path.join(tmp, "gl", "mesh");
  const gl = await meshRepo(mr);
  // The note needs GitLab's API (test/review/ci.test.ts runs it against a stand-in); every other line runs here.
  const script = job.script.filter((l) => !l.includes("gitlab-note.mjs")).join("\n");
  assert.equal(job.script.filter((l) => l.includes("gitlab-note.mjs")).length, 1);
  await run("bash", ["-e", "-c", script], {
    cwd: mr,
    env: {
      ...installedEnv(),
      ...job.variables,
      CI_MERGE_REQUEST_DIFF_BASE_SHA: gl.base,
      CI_COMMIT_SHA: gl.head,
    },
  });
  assert.match(await readFile(path.join(mr, "plan.md"), "utf8"), /emoji-svc/);
});
