/**
 * The kubeconfig loader (src/kube/kubeconfig.ts): client-node's parsing and
 * authenticators behind crosslink's own glue — merge order, paths, and the
 * TLS and auth options a request gets.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type https from "node:https";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { clientForContext } from "../../../src/kube/access.js";
import { Kubeconfig, KubeconfigError } from "../../../src/kube/kubeconfig.js";

interface Entry {
  name: string;
  [k: string]: unknown;
}

/** Kubeconfig text (JSON is YAML) with one context per user, named after it, on cluster `c`. */
function kubeconfigText(opts: {
  clusters?: Entry[];
  users?: Entry[];
  contexts?: Entry[];
  current?: string;
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: opts.clusters ?? [{ name: "c", cluster: { server: "https://127.0.0.1:6443/", ...opts.cluster } }],
    users: opts.users ?? [{ name: "u", user: { ...opts.user } }],
    contexts: opts.contexts ?? [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    ...(opts.current === undefined
      ? { "current-context": "ctx" }
      : opts.current
        ? { "current-context": opts.current }
        : {}),
  });
}

/** Writes `kubeconfigText(opts)` to DIR/NAME.yaml; returns the file's path. */
async function writeKubeconfig(dir: string, name: string, opts: Parameters<typeof kubeconfigText>[0]): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, kubeconfigText(opts));
  return file;
}

function parsed(text: string): Kubeconfig {
  const kc = new Kubeconfig();
  kc.loadFromString(text);
  return kc;
}

async function requestOptions(kc: Kubeconfig): Promise<https.RequestOptions> {
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

/** The Authorization header the options carry. */
function authorization(opts: https.RequestOptions): unknown {
  return (opts.headers as Record<string, unknown> | undefined)?.Authorization;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "xl-kc-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("parsing keeps client-node's shape: server without trailing slash, flat contexts, current context", () => {
  const kc = parsed(kubeconfigText({ cluster: { "proxy-url": "http://127.0.0.1:3128" } }));
  assert.deepEqual(
    kc.getContexts().map((c) => [c.name, c.cluster, c.user]),
    [["ctx", "c", "u"]],
  );
  assert.equal(kc.getCurrentContext(), "ctx");
  assert.equal(kc.getCurrentCluster()?.server, "https://127.0.0.1:6443");
  assert.equal(kc.getCurrentCluster()?.proxyUrl, "http://127.0.0.1:3128");
  assert.equal(kc.getCurrentUser()?.name, "u");
  assert.equal(parsed(kubeconfigText({ current: "" })).getCurrentContext(), "");
});

test("a missing context: no context object, no client, no options; a text that is not a kubeconfig is KUBECONFIG_INVALID", async () => {
  const kc = parsed(kubeconfigText({ current: "gone", user: { token: "t" } }));
  assert.equal(kc.getContextObject("gone"), null);
  assert.equal(kc.getCurrentCluster(), null);
  assert.equal(clientForContext(kc, "gone", "x"), undefined);
  assert.deepEqual(await requestOptions(kc), {});
  assert.ok(clientForContext(kc, "ctx", "x"));
  for (const bad of ["", "- a list", kubeconfigText({ clusters: [{ name: "c", cluster: {} }] })])
    assert.throws(
      () => parsed(bad),
      (e: unknown) => e instanceof KubeconfigError && e.code === "KUBECONFIG_INVALID",
    );
  assert.throws(() => parsed(kubeconfigText({ clusters: [{ name: "c", cluster: {} }] })), /server is missing/);
});

test("KUBECONFIG lists files merged in order; the first current-context set wins; a missing file throws", async () => {
  await withDir(async (dir) => {
    // File x names cluster cx, user ux and context xx; a and b name their context current, c none.
    const [a, b, c] = await Promise.all(
      ["a", "b", "c"].map(async (x) => {
        const file = path.join(dir, `${x}.yaml`);
        const cluster = { server: `https://${x}`, ...(x === "a" ? { "certificate-authority": "ca.crt" } : {}) };
        await writeFile(
          file,
          kubeconfigText({
            clusters: [{ name: `c${x}`, cluster }],
            users: [{ name: `u${x}`, user: { token: `t${x}` } }],
            contexts: [{ name: `x${x}`, context: { cluster: `c${x}`, user: `u${x}` } }],
            current: x === "c" ? "" : `x${x}`,
          }),
        );
        return file;
      }),
    );
    await writeFile(path.join(dir, "ca.crt"), "CA of a");
    const kc = new Kubeconfig();
    kc.loadFromDefault({ KUBECONFIG: [a, "", b, c].join(path.delimiter), HOME: dir });
    assert.deepEqual(
      kc.getContexts().map((x) => x.name),
      ["xa", "xb", "xc"],
    );
    assert.deepEqual(
      kc.getClusters().map((x) => x.server),
      ["https://a", "https://b", "https://c"],
    );
    assert.equal(kc.getCurrentContext(), "xa");
    assert.equal(kc.getCluster("ca")?.caFile, path.join(dir, "ca.crt"), "relative paths are per file");
    const opts = await requestOptions(kc);
    assert.equal(authorization(opts), "Bearer ta");
    assert.equal(String(opts.ca), "CA of a");

    const unset = new Kubeconfig();
    unset.loadFromDefault({ KUBECONFIG: [c, b, a].join(path.delimiter) });
    assert.equal(unset.getCurrentContext(), "xb", "a file without current-context sets nothing");

    const twice = new Kubeconfig();
    twice.loadFromDefault({ KUBECONFIG: [a!, a!].join(path.delimiter) });
    assert.deepEqual(
      [twice.getClusters().length, twice.getUsers().length, twice.getContexts().length],
      [1, 1, 1],
      "a file listed twice adds nothing the second time",
    );
    const skipped = new Kubeconfig();
    skipped.loadFromDefault({ KUBECONFIG: [path.join(dir, "none.yaml"), b, c].join(path.delimiter) });
    assert.equal(skipped.getCurrentContext(), "xb", "a listed file that does not exist is skipped, as kubectl does");
    assert.deepEqual(
      skipped.getContexts().map((x) => x.name),
      ["xb", "xc"],
    );
    assert.throws(
      () =>
        new Kubeconfig().loadFromDefault({
          KUBECONFIG: [path.join(dir, "none.yaml"), path.join(dir, "gone.yaml")].join(path.delimiter),
        }),
      (e: unknown) =>
        e instanceof KubeconfigError &&
        e.message.includes("KUBECONFIG names no file that exists") &&
        /gone\.yaml/.test(e.message),
    );
  });
});

test("KUBECONFIG files that define the same names: the first file's current-context, context, cluster and user win, as in kubectl", async () => {
  await withDir(async (dir) => {
    // Both files set current-context and define context `shared`, cluster `c` and user `u`, each its own way.
    const one = await writeKubeconfig(dir, "one", {
      clusters: [{ name: "c", cluster: { server: "https://one" } }],
      users: [{ name: "u", user: { token: "t-one" } }],
      contexts: [{ name: "shared", context: { cluster: "c", user: "u", namespace: "one" } }],
      current: "shared",
    });
    const two = await writeKubeconfig(dir, "two", {
      clusters: [
        { name: "c", cluster: { server: "https://two" } },
        { name: "c2", cluster: { server: "https://two-b" } },
      ],
      users: [
        { name: "u", user: { token: "t-two" } },
        { name: "u2", user: { token: "t-two-b" } },
      ],
      contexts: [
        { name: "shared", context: { cluster: "c2", user: "u2", namespace: "two" } },
        { name: "only-two", context: { cluster: "c2", user: "u2" } },
      ],
      current: "only-two",
    });
    const merged = (files: string[]) => {
      const kc = new Kubeconfig();
      kc.loadFromDefault({ KUBECONFIG: files.join(path.delimiter) });
      return kc;
    };
    const summary = async (kc: Kubeconfig) => ({
      current: kc.getCurrentContext(),
      contexts: kc.getContexts().map((x) => `${x.name}:${x.cluster}/${x.user}/${x.namespace}`),
      clusters: kc.getClusters().map((x) => `${x.name}:${x.server}`),
      users: kc.getUsers().map((x) => `${x.name}:${x.token}`),
      authorization: authorization(await requestOptions(kc)),
    });

    assert.deepEqual(await summary(merged([one, two])), {
      current: "shared",
      contexts: ["shared:c/u/one", "only-two:c2/u2/undefined"],
      clusters: ["c:https://one", "c2:https://two-b"],
      users: ["u:t-one", "u2:t-two-b"],
      authorization: "Bearer t-one",
    });
    // The other order: file two's definitions win instead.
    const r = await summary(merged([two, one]));
    assert.deepEqual(
      [r.current, r.contexts[0], r.clusters[0], r.users[0], r.authorization],
      ["only-two", "shared:c2/u2/two", "c:https://two", "u:t-two", "Bearer t-two-b"],
    );
  });
});

test("without KUBECONFIG, ~/.kube/config is loaded; without either, http://localhost:8080", async () => {
  await withDir(async (dir) => {
    await mkdir(path.join(dir, ".kube"));
    await writeFile(path.join(dir, ".kube", "config"), kubeconfigText({}));
    const kc = new Kubeconfig();
    kc.loadFromDefault({ HOME: dir });
    assert.equal(kc.getCurrentContext(), "ctx");
    const none = new Kubeconfig();
    none.loadFromDefault({ HOME: path.join(dir, "nowhere") });
    assert.equal(none.getCurrentCluster()?.server, "http://localhost:8080");
  });
});

test("relative CA, client certificate and key paths are read from the file's directory", async () => {
  await withDir(async (dir) => {
    await mkdir(path.join(dir, "pki"));
    await writeFile(path.join(dir, "pki", "ca.crt"), "CA PEM");
    await writeFile(path.join(dir, "pki", "c.crt"), "CERT PEM");
    await writeFile(path.join(dir, "abs.key"), "KEY PEM");
    const file = path.join(dir, "config");
    await writeFile(
      file,
      kubeconfigText({
        cluster: { "certificate-authority": "pki/ca.crt" },
        user: { "client-certificate": "pki/c.crt", "client-key": path.join(dir, "abs.key") },
      }),
    );
    const kc = new Kubeconfig();
    kc.loadFromFile(file);
    assert.equal(kc.getCurrentCluster()?.caFile, path.join(dir, "pki", "ca.crt"));
    assert.equal(kc.getCurrentUser()?.certFile, path.join(dir, "pki", "c.crt"));
    const opts = await requestOptions(kc);
    assert.equal(String(opts.ca), "CA PEM");
    assert.equal(String(opts.cert), "CERT PEM");
    assert.equal(String(opts.key), "KEY PEM");
  });
});

test("client certificate data, insecure-skip-tls-verify, tls-server-name, Impersonate-User and basic auth", async () => {
  const kc = parsed(
    kubeconfigText({
      cluster: {
        "certificate-authority-data": b64("CA"),
        "insecure-skip-tls-verify": true,
        "tls-server-name": "api.internal",
      },
      user: {
        "client-certificate-data": b64("CERT"),
        "client-key-data": b64("KEY"),
        as: "jane",
        username: "admin",
        password: "secret",
      },
    }),
  );
  const opts = await requestOptions(kc);
  assert.equal(String(opts.ca), "CA");
  assert.equal(String(opts.cert), "CERT");
  assert.equal(String(opts.key), "KEY");
  assert.equal(opts.rejectUnauthorized, false);
  assert.equal(opts.servername, "api.internal");
  assert.equal(opts.auth, "admin:secret");
  assert.deepEqual(opts.headers, { "Impersonate-User": "jane" });

  const plain = await requestOptions(parsed(kubeconfigText({ user: { token: "t" } })));
  assert.equal(plain.rejectUnauthorized, undefined);
  assert.equal(plain.servername, undefined);
  assert.equal(plain.ca, undefined);
  assert.equal(plain.auth, undefined);
  assert.deepEqual(plain.headers, { Authorization: "Bearer t" });
});

test("a context without a user gets no options at all, as in client-node", async () => {
  const kc = parsed(
    kubeconfigText({
      cluster: { "certificate-authority-data": b64("CA") },
      contexts: [{ name: "ctx", context: { cluster: "c" } }],
    }),
  );
  assert.deepEqual(await requestOptions(kc), {});
});

test("token-file is read when loaded; a tokenFile auth-provider is re-read by client-node's FileAuth", async () => {
  await withDir(async (dir) => {
    const tokenFile = path.join(dir, "token");
    await writeFile(tokenFile, "from-file");
    const kc = parsed(kubeconfigText({ user: { "token-file": tokenFile } }));
    await writeFile(tokenFile, "rotated");
    assert.equal(authorization(await requestOptions(kc)), "Bearer from-file");

    const provider = parsed(
      kubeconfigText({ user: { "auth-provider": { name: "tokenFile", config: { tokenFile } } } }),
    );
    assert.equal(authorization(await requestOptions(provider)), "Bearer rotated");
  });
});

test("an exec plugin's ExecCredential supplies the token and client certificate, cached until it expires", async () => {
  await withDir(async (dir) => {
    const script = path.join(dir, "plugin.mjs");
    const runs = path.join(dir, "runs");
    await writeFile(
      script,
      `import { appendFileSync } from "node:fs";
appendFileSync(${JSON.stringify(runs)}, "x");
const expiry = new Date(Date.now() + Number(process.env.TTL_MS)).toISOString();
console.log(JSON.stringify({
  apiVersion: "client.authentication.k8s.io/v1",
  kind: "ExecCredential",
  status: { token: "exec-" + process.argv[2], clientCertificateData: "EXEC CERT", clientKeyData: "EXEC KEY", expirationTimestamp: expiry },
}));
`,
    );
    const exec = (ttlMs: number) => ({
      apiVersion: "client.authentication.k8s.io/v1",
      command: process.execPath,
      args: [script, "arg"],
      env: [{ name: "TTL_MS", value: String(ttlMs) }],
    });
    const kc = parsed(kubeconfigText({ user: { exec: exec(3_600_000) } }));
    const first = await requestOptions(kc);
    assert.equal(authorization(first), "Bearer exec-arg");
    assert.equal(first.cert, "EXEC CERT");
    assert.equal(first.key, "EXEC KEY");
    await requestOptions(kc);
    assert.equal(await readFile(runs, "utf8"), "x", "a valid credential is reused");

    const expired = parsed(kubeconfigText({ user: { exec: exec(-1000) } }));
    await requestOptions(expired);
    await requestOptions(expired);
    assert.equal(await readFile(runs, "utf8"), "xxx", "an expired credential is asked for again");

    const failing = parsed(
      kubeconfigText({ user: { exec: { command: process.execPath, args: ["-e", "process.exit(3)"] } } }),
    );
    await assert.rejects(requestOptions(failing));
  });
});

test("an oidc auth-provider is loaded on first use and sends its unexpired id-token", async () => {
  const claims = b64(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).replace(/=+$/, "");
  const idToken = `${b64('{"alg":"none"}')}.${claims}.sig`;
  const kc = parsed(kubeconfigText({ user: { "auth-provider": { name: "oidc", config: { "id-token": idToken } } } }));
  assert.equal(authorization(await requestOptions(kc)), `Bearer ${idToken}`);
});

test("withContext and makePathsAbsolute: another current context over the same entries; absolute paths kept", () => {
  const kc = parsed(
    kubeconfigText({
      clusters: [{ name: "c", cluster: { server: "https://c", "certificate-authority": "/etc/ca.crt" } }],
      users: [{ name: "u", user: { "client-certificate": "u.crt", "client-key": "u.key" } }],
      contexts: [
        { name: "one", context: { cluster: "c", user: "u" } },
        { name: "two", context: { cluster: "c", user: "u", namespace: "ns" } },
      ],
      current: "one",
    }),
  );
  kc.makePathsAbsolute("/root/dir");
  assert.equal(kc.getCluster("c")?.caFile, "/etc/ca.crt");
  assert.equal(kc.getUser("u")?.certFile, path.join("/root/dir", "u.crt"));
  assert.equal(kc.getUser("u")?.keyFile, path.join("/root/dir", "u.key"));
  const two = kc.withContext("two");
  assert.equal(two.getCurrentContext(), "two");
  assert.equal(two.getContextObject("two")?.namespace, "ns");
  assert.equal(kc.getCurrentContext(), "one");
});

test("the request options equal client-node's KubeConfig ones (without its agent) for the same kubeconfig", async () => {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const texts = [
    kubeconfigText({ user: { token: "t", as: "jane" }, cluster: { "certificate-authority-data": b64("CA") } }),
    kubeconfigText({
      cluster: { "insecure-skip-tls-verify": true, "tls-server-name": "n" },
      user: { "client-certificate-data": b64("C"), "client-key-data": b64("K"), username: "a", password: "b" },
    }),
    kubeconfigText({ contexts: [{ name: "ctx", context: { cluster: "c" } }] }),
    kubeconfigText({ current: "missing", user: { token: "t" } }),
  ];
  for (const text of texts) {
    const theirs = new KubeConfig();
    theirs.loadFromString(text);
    const expected: https.RequestOptions = {};
    await theirs.applyToHTTPSOptions(expected);
    delete expected.agent;
    assert.deepEqual(await requestOptions(parsed(text)), expected, text);
  }
});
