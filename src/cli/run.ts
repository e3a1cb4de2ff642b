/** `crosslink run`: the GitOps daemon (schedule, webhook, drift repair, status, metrics, Lease). */
import { ConfigError, parseRunConfig } from "../daemon/config.js";
import { createDaemon } from "../daemon/daemon.js";
import type { Command } from "./command.js";
import { EXIT } from "./common.js";

const HELP = `Usage: crosslink run --repo URL|DIR [--branch NAME | --tag NAME | --commit SHA] [--path FILE]
                     [--schedule CRON] [--webhook-listen HOST:PORT] [--metrics-listen HOST:PORT]
                     [--status-detail] [--kubeconfig FILE] [--kubeconfig-dir DIR ...]
                     [--local-cluster NAME] [--drift heal|report]
                     [--drift-interval DURATION] [--resync-interval 5m] [--observe watch|poll] [--suspend] [--suspend-file FILE] [--cache-dir DIR]
                     [--webhook-secret-file FILE] [--trusted-keys FILE,...] [--leader-elect | --shards]
                     [--lease-context CTX --lease-namespace NS --lease-name NAME --lease-duration 15s]
                     [--identity NAME] [--log-level LEVEL] [--allow-mass-prune] [--shutdown-timeout 20s]
                     [--max-fetch-bytes 67108864] [--allow-rewind]

Runs the reconcile loop: fetch → validate → diff → apply, on a cron schedule (default every
minute), at once on POST /hooks/git (GitHub, GitLab or X-Crosslink-Signature HMAC), and when it
becomes the Lease holder. With --shards (instead of --leader-elect) every replica holds a member
Lease and reconciles only the clusters assigned to it over the live members, each while it holds
that cluster's own Lease (see README, "Sharding"). The webhook (and /healthz) is served on --webhook-listen (alias --listen,
default 0.0.0.0:8080); /metrics, /status, /healthz and /readyz on --metrics-listen (default
127.0.0.1:9090, 0.0.0.0:9090 in a pod). /status names servers and quotes errors only with
--status-detail. In a pod (KUBERNETES_SERVICE_HOST/PORT and a ServiceAccount token), the Lease is
taken in the pod's own cluster and --local-cluster NAME reaches that topology cluster through the
ServiceAccount; other clusters come from --kubeconfig and every file of --kubeconfig-dir, re-read
when they change. Every flag can also be set as CROSSLINK_<FLAG> (e.g. CROSSLINK_REPO,
CROSSLINK_DRIFT_INTERVAL). Secrets only from the environment or files: CROSSLINK_GIT_TOKEN(_FILE),
CROSSLINK_GIT_USERNAME, CROSSLINK_GIT_PASSWORD(_FILE), CROSSLINK_WEBHOOK_SECRET or
--webhook-secret-file. See docs/daemon.md.
`;

/** The run command. */
export const runCommand: Command = {
  async run(args, io) {
    let cfg;
    try {
      cfg = parseRunConfig(args);
    } catch (err) {
      if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
        io.err(`crosslink run: ${(err as Error).message}\n`);
        return EXIT.error;
      }
      throw err;
    }
    if (cfg === "help") {
      io.out(HELP);
      return EXIT.ok;
    }
    const daemon = await createDaemon(cfg);
    await daemon.start();
    await new Promise<void>((resolve) => {
      const onSignal = () => {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        resolve();
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
    });
    await daemon.stop();
    // Everything is closed; if some handle still keeps the process alive, do not linger past the shutdown.
    const leftover = setTimeout(() => {
      io.err(`crosslink run: open handles after stop (${process.getActiveResourcesInfo().join(", ")}); exiting\n`);
      process.exit(EXIT.ok);
    }, 2_000);
    leftover.unref();
    return EXIT.ok;
  },
};
