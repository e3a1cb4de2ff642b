/**
 * Helpers of the chart's cluster test: server-side apply of any rendered object (kinds beyond
 * crosslink's own table, through client-node's discovery), a minimal ServiceMonitor CRD (the
 * harness has no Prometheus operator), and SelfSubjectRulesReview as an account with only a token.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AuthorizationV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import type { KubeObject } from "../../src/kube/object.js";
import { pollUntil } from "../harness/kube.js";
import { repoRoot } from "../harness/paths.js";
import { expand, type PolicyRule } from "./rbac.js";

/** The field manager the test applies the chart with (as `helm install --server-side` would). */
export const CHART_MANAGER = "helm";

/** Applies `objects` server-side, for real, in order; returns the objects as the server holds them. */
export async function applyObjects(kc: KubeConfig, objects: KubeObject[]): Promise<KubeObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const out: KubeObject[] = [];
  for (const o of objects) {
    out.push(
      (await api.patch(
        o as never,
        undefined,
        undefined,
        CHART_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      )) as unknown as KubeObject,
    );
  }
  return out;
}

/** Reads an object back; undefined when it does not exist. */
export async function readObject(kc: KubeConfig, o: KubeObject): Promise<KubeObject | undefined> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  try {
    return (await api.read({
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) },
    })) as unknown as KubeObject;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

/** A minimal ServiceMonitor CRD: the group, kind and version the chart renders, any spec. */
export const SERVICE_MONITOR_CRD: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "servicemonitors.monitoring.coreos.com" },
  spec: {
    group: "monitoring.coreos.com",
    names: {
      kind: "ServiceMonitor",
      listKind: "ServiceMonitorList",
      plural: "servicemonitors",
      singular: "servicemonitor",
    },
    scope: "Namespaced",
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        },
      },
    ],
  },
};

/** Installs the ServiceMonitor CRD and waits (bounded) until ServiceMonitors can be read. */
export async function installServiceMonitorCrd(kc: KubeConfig): Promise<void> {
  await applyObjects(kc, [SERVICE_MONITOR_CRD]);
  const api = KubernetesObjectApi.makeApiClient(kc);
  await pollUntil(
    "the ServiceMonitor CRD to be served",
    async () => {
      await api.list("monitoring.coreos.com/v1", "ServiceMonitor", "default");
      return true;
    },
    30_000,
    200,
  );
}

/** A kubeconfig for `server` (trusting the CA of `admin`'s current cluster) that authenticates with `token` only. */
export function tokenKubeConfig(admin: Pick<KubeConfig, "getCurrentCluster">, token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig has no current cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: "sa", token }],
    contexts: [{ name: "c", cluster: "c", user: "sa" }],
    currentContext: "c",
  });
  return kc;
}

/** What the token's account may do in `namespace` (SelfSubjectRulesReview, what `kubectl auth can-i --list` asks). */
export async function rulesOf(
  kc: KubeConfig,
  namespace: string,
): Promise<{ resource: Set<string>; nonResource: Set<string>; incomplete: boolean }> {
  const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectRulesReview({
    body: { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectRulesReview", spec: { namespace } },
  });
  const status = review.status!;
  const nonResource = new Set<string>();
  for (const r of status.nonResourceRules)
    for (const u of r.nonResourceURLs ?? []) for (const v of r.verbs) nonResource.add(`${v} ${u}`);
  return { resource: expand(status.resourceRules as PolicyRule[]), nonResource, incomplete: status.incomplete };
}

/** The parts of a rendered container the tests read. */
export interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  image: string;
}

/** One volume of the rendered pod. */
export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  secret?: { secretName: string };
  projected?: { sources: { secret: { name: string } }[] };
}

/** The parts of the rendered pod spec the tests read. */
export interface PodSpec {
  containers: Container[];
  volumes: Volume[];
  securityContext: Record<string, unknown>;
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  imagePullSecrets?: { name: string }[];
}

/** An Opaque Secret in the chart's namespace with `data` (plain text, encoded here). */
export function secret(name: string, data: Record<string, string>, namespace = "crosslink"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  };
}

/**
 * Lays `data` out in `dir` as the kubelet does for a Secret volume: the files in a timestamped
 * directory, `..data` a link to it, and each key a link through `..data`.
 */
export function kubeletSecretVolume(dir: string, data: Record<string, string>): void {
  const stamp = "..2026_11_23_07_00_00.000000001";
  mkdirSync(path.join(dir, stamp), { recursive: true });
  for (const [k, v] of Object.entries(data)) writeFileSync(path.join(dir, stamp, k), v, { mode: 0o440 });
  symlinkSync(stamp, path.join(dir, "..data"));
  for (const k of Object.keys(data)) symlinkSync(path.join("..data", k), path.join(dir, k));
}

/** A running `crosslink` process. */
export interface CrosslinkProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 30 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const BIN = path.join(repoRoot, "bin", "crosslink.js");

/** Starts `crosslink ARGS` (the image's entrypoint) with exactly `env`. */
export function spawnCrosslink(args: string[], env: NodeJS.ProcessEnv): CrosslinkProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs `crosslink ARGS` to completion (bounded at 2 minutes). */
export function runCrosslinkOnce(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : null
        : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

/**
 * `kubectl auth can-i --list` as permission strings (its table read by the header's column
 * offsets), or undefined when there is no kubectl on PATH. Non-resource lines are `get /path`.
 */
export function kubectlCanIList(
  kubeconfigFile: string,
  namespace: string,
): Promise<{ resource: Set<string>; nonResource: Set<string> } | undefined> {
  return new Promise((resolve, reject) => {
    execFile(
      "kubectl",
      ["auth", "can-i", "--list", "--namespace", namespace, "--kubeconfig", kubeconfigFile],
      { timeout: 60_000, env: { PATH: process.env.PATH, HOME: path.dirname(kubeconfigFile) } },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === "ENOENT") return resolve(undefined);
        if (err) return reject(new Error(`kubectl auth can-i --list: ${err.message}\n${stderr}`));
        const lines = stdout.split("\n").filter((l) => l.trim());
        const header = lines.shift() ?? "";
        const at = ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"].map((h) => header.indexOf(h));
        if (at.some((i) => i < 0)) return reject(new Error(`kubectl auth can-i --list: unexpected header '${header}'`));
        const list = (text: string) =>
          text
            .replace(/^\[|\]$/g, "")
            .split(/\s+/)
            .filter(Boolean);
        const resource = new Set<string>();
        const nonResource = new Set<string>();
        for (const line of lines) {
          const col = (i: number) => line.slice(at[i], i + 1 < at.length ? at[i + 1] : undefined).trim();
          const verbs = list(col(3));
          if (col(0)) {
            // `links.multicluster.linkerd.io/status`: resource.group/subresource.
            const [full, sub] = col(0).split("/");
            const [base, ...group] = full!.split(".");
            const res = sub ? `${base}/${sub}` : base;
            const names = list(col(2));
            for (const v of verbs)
              for (const n of names.length ? names : ["*"]) resource.add(`${group.join(".")}|${res}|${v}|${n}`);
          } else for (const u of list(col(1))) for (const v of verbs) nonResource.add(`${v} ${u}`);
        }
        resolve({ resource, nonResource });
      },
    );
  });
}
