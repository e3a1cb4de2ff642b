/**
 * The daemon's settings from `crosslink run` flags, each also readable from
 * the environment as CROSSLINK_<FLAG> (e.g. `--drift-interval` ↔
 * CROSSLINK_DRIFT_INTERVAL) for containers. Flags win over the environment.
 * Secrets (git credentials, the webhook secret) come only from the
 * environment or mounted files and are never echoed.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { validate as validateCron } from "node-cron";
import { CrosslinkError } from "../errors.js";
import { parseDuration } from "../topology/duration.js";
import { DEFAULT_MAX_FETCH_BYTES } from "../source/bounded-http.js";
import { defaultCacheRoot } from "../source/cache-dir.js";
import type { GitRef } from "../source/git.js";
import { detectInCluster, type InClusterEnv } from "../kube/in-cluster.js";
import { LOG_LEVELS } from "./log.js";

/** A listen address. */
export interface HostPort {
  host: string;
  port: number;
}

/** Everything the daemon needs to start. */
export interface DaemonConfig {
  /** A git URL (http(s)://) or a local directory. */
  repo: string;
  ref: GitRef;
  path: string;
  schedule: string;
  /** The public listener: `POST /hooks/git` and `/healthz` (`--webhook-listen`, alias `--listen`). */
  webhookListen: HostPort;
  /** The operators' listener: `/metrics`, `/status`, `/healthz`, `/readyz`. */
  metricsListen: HostPort;
  /** `/status` names API servers, the source URL and error texts only when true. */
  statusDetail: boolean;
  kubeconfig?: string;
  /** Directories whose every file is a kubeconfig (mounted Secrets), re-read when they change. */
  kubeconfigDirs: string[];
  /** Set inside a pod: the pod's own cluster through its ServiceAccount. */
  inCluster?: InClusterEnv;
  /** The topology cluster that is the pod's own cluster (reached through the ServiceAccount). */
  localCluster?: string;
  drift: "heal" | "report";
  driftIntervalMs: number;
  /**
   * With watches: the longest ticks are skipped as unchanged before one reconciles anyway (0: none is skipped);
   * unset: the loop's UNCHANGED_CEILING_MS (5 min).
   */
  resyncIntervalMs?: number;
  /** `watch`: clusters are observed through LIST+WATCH caches, and a watch event triggers a reconcile; `poll`: every reconcile reads them anew. */
  observe: "watch" | "poll";
  suspend: boolean;
  suspendFile?: string;
  cacheDir: string;
  webhookSecretFile?: string;
  trustedKeyFiles: string[];
  leaderElect: boolean;
  /** `--shards`: the clusters are shared out over the replicas through member and per-cluster Leases (shards.ts). */
  shards: boolean;
  leaseContext?: string;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs: number;
  identity: string;
  logLevel: string;
  allowMassPrune: boolean;
  /** With trusted keys: accept a move of the branch back to an ancestor of the applied commit. */
  allowRewind: boolean;
  /** Most bytes one git fetch may download. */
  maxFetchBytes: number;
  shutdownTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** The flags of `crosslink run`. */
export const RUN_OPTIONS = {
  repo: { type: "string" },
  branch: { type: "string" },
  tag: { type: "string" },
  commit: { type: "string" },
  path: { type: "string" },
  schedule: { type: "string" },
  listen: { type: "string" },
  "webhook-listen": { type: "string" },
  "metrics-listen": { type: "string" },
  "status-detail": { type: "boolean" },
  kubeconfig: { type: "string" },
  "kubeconfig-dir": { type: "string", multiple: true },
  "local-cluster": { type: "string" },
  drift: { type: "string" },
  "drift-interval": { type: "string" },
  "resync-interval": { type: "string" },
  observe: { type: "string" },
  suspend: { type: "boolean" },
  "suspend-file": { type: "string" },
  "cache-dir": { type: "string" },
  "webhook-secret-file": { type: "string" },
  "trusted-keys": { type: "string" },
  "leader-elect": { type: "boolean" },
  shards: { type: "boolean" },
  "lease-context": { type: "string" },
  "lease-namespace": { type: "string" },
  "lease-name": { type: "string" },
  "lease-duration": { type: "string" },
  identity: { type: "string" },
  "log-level": { type: "string" },
  "allow-mass-prune": { type: "boolean" },
  "allow-rewind": { type: "boolean" },
  "max-fetch-bytes": { type: "string" },
  "shutdown-timeout": { type: "string" },
  "backoff-max": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** A configuration problem; the message names the flag. */
export class ConfigError extends CrosslinkError<"CONFIG_INVALID"> {
  /** Creates an error; the message names the flag first. */
  constructor(message: string) {
    super("CONFIG_INVALID", message);
    this.name = "ConfigError";
  }
}

const envName = (flag: string) => `CROSSLINK_${flag.toUpperCase().replace(/-/g, "_")}`;

/** Parses `crosslink run` arguments and the environment into a config (or `help`). */
export function parseRunConfig(args: string[], env: NodeJS.ProcessEnv = process.env): DaemonConfig | "help" {
  const { values } = parseArgs({ args, options: RUN_OPTIONS, allowPositionals: false, strict: true });
  if (values.help) return "help";
  const str = (flag: keyof typeof RUN_OPTIONS): string | undefined => {
    const v = (values as Record<string, unknown>)[flag];
    if (typeof v === "string") return v;
    const e = env[envName(flag)];
    return e === undefined || e === "" ? undefined : e;
  };
  const bool = (flag: keyof typeof RUN_OPTIONS): boolean => {
    const v = (values as Record<string, unknown>)[flag];
    if (typeof v === "boolean") return v;
    return /^(1|true|yes|on)$/i.test(env[envName(flag)] ?? "");
  };
  const ms = (flag: keyof typeof RUN_OPTIONS, dflt: string): number => {
    const text = str(flag) ?? dflt;
    if (text === "0") return 0;
    const s = parseDuration(text);
    if (s === undefined) throw new ConfigError(`--${flag}: '${text}' is not a duration (e.g. 30s, 5m)`);
    return s * 1000;
  };

  const repo = str("repo");
  if (!repo) throw new ConfigError("--repo (or CROSSLINK_REPO) is required: a git URL or a local directory");
  const refs = (["branch", "tag", "commit"] as const).filter((f) => str(f));
  if (refs.length > 1)
    throw new ConfigError(`--branch, --tag and --commit are exclusive (got ${refs.map((r) => "--" + r).join(", ")})`);
  const ref: GitRef = str("tag")
    ? { tag: str("tag")! }
    : str("commit")
      ? { commit: str("commit")! }
      : { branch: str("branch") ?? "main" };
  if ("commit" in ref && !/^[0-9a-f]{40}$/.test(ref.commit))
    throw new ConfigError(`--commit: '${ref.commit}' is not a full 40-hex commit id`);

  const schedule = str("schedule") ?? "* * * * *";
  if (!validateCron(schedule)) throw new ConfigError(`--schedule: '${schedule}' is not a cron expression`);
  const inCluster = detectInCluster(env);
  const webhookListen = hostPort("webhook-listen", str("webhook-listen") ?? str("listen") ?? "0.0.0.0:8080");
  const metricsListen = hostPort(
    "metrics-listen",
    str("metrics-listen") ?? (inCluster ? "0.0.0.0:9090" : "127.0.0.1:9090"),
  );
  const flagDirs = (values as Record<string, unknown>)["kubeconfig-dir"] as string[] | undefined;
  const kubeconfigDirs = (flagDirs ?? [env.CROSSLINK_KUBECONFIG_DIR ?? ""])
    .flatMap((d) => d.split(","))
    .map((d) => d.trim())
    .filter(Boolean);
  const localCluster = str("local-cluster");
  if (localCluster && !inCluster)
    throw new ConfigError(
      "--local-cluster: only inside a cluster (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and a ServiceAccount token file)",
    );
  const drift = str("drift") ?? "heal";
  if (drift !== "heal" && drift !== "report") throw new ConfigError(`--drift: '${drift}' must be heal or report`);
  const observe = str("observe") ?? "watch";
  if (observe !== "watch" && observe !== "poll") throw new ConfigError(`--observe: '${observe}' must be watch or poll`);
  const logLevel = str("log-level") ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw new ConfigError(`--log-level: '${logLevel}' must be one of ${LOG_LEVELS.join(", ")}`);
  const leaderElect = bool("leader-elect");
  const shards = bool("shards");
  if (leaderElect && shards)
    throw new ConfigError(
      "--shards and --leader-elect are exclusive: with --shards every replica writes its own clusters",
    );
  const leaseDurationMs = ms("lease-duration", "15s");
  if ((leaderElect || shards) && leaseDurationMs < 2000) throw new ConfigError("--lease-duration: at least 2s");

  const cfg: DaemonConfig = {
    repo,
    ref,
    path: str("path") ?? "multicluster.yaml",
    schedule,
    webhookListen,
    metricsListen,
    statusDetail: bool("status-detail"),
    kubeconfigDirs,
    drift,
    driftIntervalMs: ms("drift-interval", "0"),
    ...(str("resync-interval") !== undefined ? { resyncIntervalMs: ms("resync-interval", "0") } : {}),
    observe,
    suspend: bool("suspend"),
    cacheDir: str("cache-dir") ?? path.join(defaultCacheRoot(env), "source"),
    trustedKeyFiles: (str("trusted-keys") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    leaderElect,
    shards,
    leaseNamespace: str("lease-namespace") ?? env.POD_NAMESPACE ?? inCluster?.namespace ?? "crosslink",
    leaseName: str("lease-name") ?? "crosslink",
    leaseDurationMs,
    identity: str("identity") ?? env.POD_NAME ?? `${os.hostname()}-${process.pid}`,
    logLevel,
    allowMassPrune: bool("allow-mass-prune"),
    allowRewind: bool("allow-rewind"),
    maxFetchBytes: bytes(str("max-fetch-bytes")),
    shutdownTimeoutMs: ms("shutdown-timeout", "20s"),
    backoffBaseMs: 10_000,
    backoffMaxMs: ms("backoff-max", "5m"),
  };
  // A directory has no commits to verify: silently skipping the check would defeat it.
  if (cfg.trustedKeyFiles.length && !isRemote(repo))
    throw new ConfigError("--trusted-keys: signatures are verified on git commits; --repo must be an http(s) git URL");
  const opt = {
    kubeconfig: str("kubeconfig"),
    suspendFile: str("suspend-file"),
    webhookSecretFile: str("webhook-secret-file"),
    leaseContext: str("lease-context"),
    inCluster,
    localCluster,
  };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  return cfg;
}

/** Parses a HOST:PORT flag (`[::1]:9090` for IPv6; an empty host is 0.0.0.0). */
function hostPort(flag: string, text: string): HostPort {
  const m = /^(.*):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`--${flag}: '${text}' is not HOST:PORT`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1") || "0.0.0.0", port: Number(m[2]) };
}

/** Parses `--max-fetch-bytes`: a positive whole number of bytes, default 64 MiB. */
function bytes(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_FETCH_BYTES;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ConfigError(`--max-fetch-bytes: '${text}' is not a positive number of bytes`);
  return n;
}

/** Whether the repo setting names a remote git repository (else a local directory). */
export function isRemote(repo: string): boolean {
  return /^https?:\/\//i.test(repo);
}
