/**
 * The daemon: the reconcile loop driven by a cron schedule, webhooks and
 * leadership changes, with the HTTP server, metrics and an optional Lease.
 * `createDaemon` wires real edges from a `DaemonConfig`; every port can be
 * replaced for tests.
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { schedule, type ScheduledTask } from "node-cron";
import { clientForContext, clusterAccess, type ClusterAccess, type LocalCluster } from "../kube/access.js";
import type { HttpClusterClient } from "../kube/http-client.js";
import { inClusterClient } from "../kube/in-cluster.js";
import { KubeconfigFiles, type KubeconfigPaths } from "../kube/kubeconfig-files.js";
import { credentialsFromEnv } from "../source/credentials.js";
import { GitSource } from "../source/git.js";
import { LocalSource } from "../source/local.js";
import { readTrustedKeys } from "../source/signature.js";
import { SourceError } from "../source/errors.js";
import type { Source } from "../source/types.js";
import { systemClock, type Clock } from "./clock.js";
import { isRemote, type DaemonConfig } from "./config.js";
import { LeaseElector, SUSPEND_ANNOTATION, leaseTimings, type LeaseClient } from "./lease.js";
import { ShardCoordinator, ShardTerms, type ShardLeaseClient } from "./shards.js";
import { createLogger, type Logger } from "./log.js";
import { ReconcileLoop, WATCH_TRIGGER, type ClientsFactory, type ClusterAccessLike } from "./loop.js";
import { DaemonMetrics } from "./metrics.js";
import { startServer, type DaemonServer } from "./server.js";
import { WatchBoard } from "./watches.js";

/** Replaceable edges of the daemon. */
export interface DaemonPorts {
  source?: Source;
  clients?: ClientsFactory;
  clock?: Clock;
  log?: Logger;
  /** The Lease client (with LIST, for --shards). */
  leaseClient?: LeaseClient | ShardLeaseClient;
  metrics?: DaemonMetrics;
}

/** A running daemon. */
export interface Daemon {
  readonly loop: ReconcileLoop;
  readonly metrics: DaemonMetrics;
  readonly elector?: LeaseElector;
  /** With --shards: this replica's membership and cluster Leases. */
  readonly shards?: ShardCoordinator;
  /** Base URL of the metrics and status listener, once started. */
  url(): string;
  /** Base URL of the webhook listener, once started. */
  webhookUrl(): string;
  start(): Promise<void>;
  /**
   * Stops scheduling and aborts the running reconcile (requests in flight are
   * cancelled, no further write is sent), waits at most the shutdown timeout
   * for it to end, then releases the Lease and closes the server.
   */
  stop(): Promise<void>;
}

/** Builds the source a config names. */
export async function sourceFor(cfg: DaemonConfig): Promise<Source> {
  if (!isRemote(cfg.repo)) return new LocalSource(cfg.repo, cfg.path);
  const readKeyFile = (f: string) => {
    try {
      return readFileSync(f, "utf8");
    } catch (err) {
      throw new SourceError(
        "SOURCE_CONFIG",
        `--trusted-keys ${f}: ${err instanceof Error && "code" in err ? String(err.code) : "unreadable"}`,
      );
    }
  };
  const trustedKeys = cfg.trustedKeyFiles.length
    ? await readTrustedKeys(cfg.trustedKeyFiles.map(readKeyFile))
    : undefined;
  return new GitSource({
    url: cfg.repo,
    ref: cfg.ref,
    path: cfg.path,
    cacheDir: cfg.cacheDir,
    credentials: credentialsFromEnv(),
    maxFetchBytes: cfg.maxFetchBytes,
    ...(trustedKeys ? { trustedKeys } : {}),
  });
}

/** Reads the webhook secret: CROSSLINK_WEBHOOK_SECRET, else the mounted file. */
export function webhookSecret(cfg: DaemonConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CROSSLINK_WEBHOOK_SECRET) return env.CROSSLINK_WEBHOOK_SECRET;
  if (cfg.webhookSecretFile) {
    try {
      return readFileSync(cfg.webhookSecretFile, "utf8").trim() || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Creates a daemon from a config, with real edges unless replaced. */
export async function createDaemon(cfg: DaemonConfig, ports: DaemonPorts = {}): Promise<Daemon> {
  const log = ports.log ?? createLogger(cfg.logLevel);
  const clock = ports.clock ?? systemClock;
  const metrics = ports.metrics ?? new DaemonMetrics();
  const source = ports.source ?? (await sourceFor(cfg));
  const kubeconfigs = ports.clients && ports.leaseClient ? undefined : new KubeconfigFiles(kubeconfigPaths(cfg));
  const ic = cfg.inCluster;
  const local: LocalCluster | undefined =
    ic && cfg.localCluster
      ? { name: cfg.localCluster, connect: (name, retry) => inClusterClient(ic, name, retry) }
      : undefined;
  /** Re-reads the kubeconfig files; true when they changed since `generation`. */
  let kubeconfigError: string | undefined;
  const refreshed = (generation: number): boolean => {
    const r = kubeconfigs!.refresh();
    // Logged once per distinct error: the files are checked before every reconcile and Lease call.
    if (r.error && r.error !== kubeconfigError)
      log.error({ err: r.error }, "kubeconfig files changed but do not load; the last good ones stay in use");
    else if (r.changed) log.info({}, "kubeconfig files changed; clients rebuilt");
    kubeconfigError = r.error;
    return kubeconfigs!.generation !== generation;
  };
  // A cluster reached the same way (same kubeconfig load, context or local cluster) keeps its client.
  const built = new WeakMap<ClusterAccessLike, ClusterAccess>();
  const direct: ClientsFactory =
    ports.clients ??
    ((t, previous) => {
      const generation = kubeconfigs!.generation;
      const access = clusterAccess(t, kubeconfigs!.current, undefined, local, previous && built.get(previous));
      const like = { ...access, stale: () => refreshed(generation) };
      built.set(like, access);
      return like;
    });
  // Watches: reads come from LIST+WATCH caches; a change one brings triggers a reconcile (debounced).
  let fireWatch = () => {};
  let recovered = (_cluster: string) => {};
  const watches =
    cfg.observe === "watch"
      ? new WatchBoard(
          metrics,
          () => fireWatch(),
          (c) => recovered(c),
        )
      : undefined;
  const clients: ClientsFactory = watches ? watches.wrap(direct) : direct;

  let elector: LeaseElector | undefined;
  let shards: ShardCoordinator | undefined;
  if (cfg.leaderElect || cfg.shards) {
    let leaseClient = ports.leaseClient as ShardLeaseClient | undefined;
    if (!leaseClient) {
      if (ic && !cfg.leaseContext) leaseClient = inClusterClient(ic, "lease") as ShardLeaseClient;
      else {
        const make = (): HttpClusterClient => {
          const kc = kubeconfigs!.current;
          const context = cfg.leaseContext ?? kc.getCurrentContext();
          const c = clientForContext(kc, context, context);
          if (!c) throw new Error(`--lease-context: kubeconfig has no context '${context}'`);
          return c;
        };
        leaseClient = followingClient(make, refreshed, () => kubeconfigs!.generation);
      }
    }
    if (cfg.shards)
      shards = new ShardCoordinator(
        leaseClient,
        {
          namespace: cfg.leaseNamespace,
          group: cfg.leaseName,
          identity: cfg.identity,
          leaseDurationMs: cfg.leaseDurationMs,
        },
        clock,
        log,
      );
    else
      elector = new LeaseElector(
        leaseClient,
        {
          namespace: cfg.leaseNamespace,
          name: cfg.leaseName,
          identity: cfg.identity,
          ...leaseTimings(cfg.leaseDurationMs),
        },
        clock,
        log,
      );
  }

  const loop = new ReconcileLoop(
    {
      source,
      clients,
      clock,
      log,
      metrics,
      canWrite: () => !elector || elector.isLeader(),
      ...(elector ? { writeSignal: () => elector.writeSignal() } : {}),
      suspended: async () =>
        cfg.suspend ||
        (cfg.suspendFile !== undefined && existsSync(cfg.suspendFile)) ||
        elector?.annotations()[SUSPEND_ANNOTATION] === "true",
      ...(shards ? { clusters: shards } : {}),
    },
    {
      drift: cfg.drift,
      driftIntervalMs: cfg.driftIntervalMs,
      ...(cfg.resyncIntervalMs !== undefined ? { unchangedCeilingMs: cfg.resyncIntervalMs } : {}),
      engine: { allowMassPrune: cfg.allowMassPrune },
      backoff: { baseMs: cfg.backoffBaseMs, maxMs: cfg.backoffMaxMs },
      identity: cfg.identity,
      role: elector ? "follower" : shards ? "shard" : "single",
      rewind: { refuseAncestor: cfg.trustedKeyFiles.length > 0 && !cfg.allowRewind },
    },
  );

  let server: DaemonServer | undefined;
  let webhookServer: DaemonServer | undefined;
  let task: ScheduledTask | undefined;
  const fire = (reason: string) => {
    loop.trigger(reason).catch((err) => log.error({ err: String(err) }, "trigger failed"));
  };
  fireWatch = () => fire(WATCH_TRIGGER);
  recovered = (cluster) => loop.forgetBackoff(cluster);
  const follows = "branch" in cfg.ref ? { branch: cfg.ref.branch } : "tag" in cfg.ref ? { tag: cfg.ref.tag } : {};

  return {
    loop,
    metrics,
    ...(elector ? { elector } : {}),
    ...(shards ? { shards } : {}),
    url: () => server?.url ?? "",
    webhookUrl: () => webhookServer?.url ?? "",
    async start() {
      metrics.leader.set(elector ? 0 : 1);
      const common = {
        status: () => (watches ? { ...loop.status, watches: watches.list() } : loop.status),
        statusDetail: cfg.statusDetail,
        metrics,
        webhookSecret: () => webhookSecret(cfg),
        follows,
        log,
        onPush: () => {
          fire("webhook");
          if (elector && !elector.isLeader())
            elector
              .requestReconcile()
              .catch((err) => log.warn({ err: String(err) }, "cannot forward the webhook to the leader"));
        },
      };
      server = await startServer(cfg.metricsListen.host, cfg.metricsListen.port, { ...common, endpoints: "metrics" });
      try {
        webhookServer = await startServer(cfg.webhookListen.host, cfg.webhookListen.port, {
          ...common,
          endpoints: "webhook",
        });
      } catch (err) {
        await server.close();
        throw err;
      }
      log.info(
        {
          url: server.url,
          webhookUrl: webhookServer.url,
          inCluster: ic ? { server: ic.server, localCluster: cfg.localCluster ?? null } : false,
          source: source.describe,
          schedule: cfg.schedule,
          drift: cfg.drift,
          leaderElect: cfg.leaderElect,
          shards: cfg.shards,
          observe: cfg.observe,
          identity: cfg.identity,
        },
        "crosslink daemon started",
      );
      if (elector) {
        elector.onChange((leader) => {
          metrics.leader.set(leader ? 1 : 0);
          loop.status.role = leader ? "leader" : "follower";
          if (leader) fire("leader");
        });
        elector.onRequest(() => fire("webhook-forwarded"));
        await elector.start();
      }
      if (shards) {
        const group = shards;
        const terms = new ShardTerms((c) => loop.writesSent(c));
        const show = () => {
          const st = group.status();
          loop.status.shards = { ...st, terms: terms.list() };
          metrics.shardMembers.reset();
          for (const m of st.members) metrics.shardMembers.set({ member: m }, 1);
          metrics.shardClusters.reset();
          for (const c of st.assigned) metrics.shardClusters.set({ cluster: c }, st.owned.includes(c) ? 1 : 0);
        };
        group.onAssignment(show);
        group.onChange((cluster, owned, at) => {
          terms.change(cluster, owned, at);
          show();
          log.info(
            { cluster, identity: cfg.identity, owned },
            owned ? "shards: cluster acquired" : "shards: cluster released",
          );
          if (owned) fire("shard");
        });
        loop.onTick(show);
        await group.start();
        show();
      }
      task = schedule(cfg.schedule, () => fire("schedule"), { name: "crosslink-reconcile", noOverlap: false });
      fire("startup");
    },
    async stop() {
      log.info({}, "stopping: no new reconciles; aborting the running one");
      await task?.stop();
      await task?.destroy();
      watches?.stop();
      let timer: NodeJS.Timeout | undefined;
      // loop.stop() aborts: requests in flight are cancelled and the fence refuses any further write.
      const finished = await Promise.race([
        loop.stop().then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), cfg.shutdownTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!finished)
        log.warn(
          { timeoutMs: cfg.shutdownTimeoutMs },
          "the aborted reconcile did not end in time; no write is sent after the abort",
        );
      // Released only now: no write of this replica can follow the next holder's first.
      await elector?.stop();
      await shards?.stop();
      loop.close();
      await webhookServer?.close();
      await server?.close();
      log.info({ finished }, "stopped");
    },
  };
}

/** The kubeconfig files a config names: --kubeconfig, else KUBECONFIG, else ~/.kube/config (none in a pod), plus --kubeconfig-dir. */
export function kubeconfigPaths(cfg: DaemonConfig, env: NodeJS.ProcessEnv = process.env): KubeconfigPaths {
  if (cfg.kubeconfig) return { files: [cfg.kubeconfig], dirs: cfg.kubeconfigDirs };
  const fromEnv = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
  if (fromEnv.length) return { files: fromEnv.filter((f) => existsSync(f)), dirs: cfg.kubeconfigDirs };
  const home = path.join(os.homedir(), ".kube", "config");
  const useHome = !cfg.inCluster && !cfg.kubeconfigDirs.length && existsSync(home);
  return { files: useHome ? [home] : [], dirs: cfg.kubeconfigDirs };
}

/**
 * A Lease client that follows rotated kubeconfig files: each call first
 * re-reads them and rebuilds the client when they changed.
 */
function followingClient(
  make: () => HttpClusterClient,
  refreshed: (generation: number) => boolean,
  generation: () => number,
): ShardLeaseClient {
  let client = make();
  let built = generation();
  const current = (): HttpClusterClient => {
    if (refreshed(built)) {
      client.close();
      client = make();
      built = generation();
    }
    return client;
  };
  return {
    get: (ref, opts) => current().get(ref, opts),
    apply: (obj, opts) => current().apply(obj, opts),
    patch: (ref, patch, opts) => current().patch(ref, patch, opts),
    update: (obj, opts) => current().update(obj, opts),
    list: (apiVersion, kind, opts) => current().list(apiVersion, kind, opts),
  };
}
