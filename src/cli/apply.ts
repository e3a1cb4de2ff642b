/** `crosslink apply`: shows the plan, applies it, prints what changed per cluster. Exit 0 only when every cluster converged. */
import { createInterface } from "node:readline/promises";
import { reconcile } from "../engine/reconcile.js";
import { hasErrors } from "../engine/plan/actions.js";
import { renderChangeSetHuman } from "../report/human.js";
import { changeSetJson, planJson } from "../report/json.js";
import { inSync } from "../report/summary.js";
import type { Command } from "./command.js";
import { EXIT, accessOrReport, engineOptions, loadOrReport, parseEngineArgs } from "./common.js";
import { formatPlan } from "./diff.js";

const HELP = `Usage: crosslink apply [-f FILE] [--kubeconfig FILE] [--dry-run=server] [--yes] [--allow-mass-prune] [--rotate-credentials] [--output human|json]

Shows the plan, asks for confirmation (unless --yes or not a terminal), applies it with
server-side apply (field manager crosslink) and prints what changed per cluster.
--dry-run=server sends every write with dryRun=All: the API servers validate, nothing is stored.
--allow-mass-prune lets the prune guard's findings through: over half of the links, exports or
clusters that the clusters hold dropped at once (XL641), deletions no topology change explains (XL642).
--rotate-credentials issues new credentials for every link now; otherwise live ones (also those
Linkerd's CLI made and crosslink adopts) are kept until they would be renewed anyway.
Exit status: 0 when every cluster converged, 1 otherwise.
`;

/** The apply command. */
export const applyCommand: Command = {
  async run(args, io) {
    const { values } = parseEngineArgs(args, {
      "dry-run": { type: "string" },
      yes: { type: "boolean", short: "y", default: false },
      "rotate-credentials": { type: "boolean", default: false },
    });
    if (values.help) {
      io.out(HELP);
      return EXIT.ok;
    }
    if (values["dry-run"] !== undefined && values["dry-run"] !== "server") {
      io.err(`crosslink apply: --dry-run supports only 'server'\n`);
      return EXIT.error;
    }
    const dryRun = values["dry-run"] === "server";
    const topology = await loadOrReport(values.file, io);
    if (!topology) return EXIT.error;
    const access = accessOrReport(topology, values.kubeconfig, io);
    try {
      const json = values.output === "json";
      let cancelled = false;
      const { plan, changes } = await reconcile(
        topology,
        access.clients,
        engineOptions(values, { dryRun, rotateCredentials: values["rotate-credentials"] }),
        async ({ plan }) => {
          if (!json) io.out(formatPlan(plan, "human") + "\n");
          if (inSync(plan)) return false;
          cancelled = !values.yes && !dryRun && process.stdin.isTTY && !(await confirm());
          return !cancelled;
        },
      );
      if (cancelled) {
        io.out("Apply cancelled.\n");
        return EXIT.error;
      }
      if (!changes) {
        if (json) io.out(JSON.stringify({ plan: planJson(plan), changes: null }, null, 2) + "\n");
        return access.diagnostics.length || hasErrors(plan) ? EXIT.error : EXIT.ok;
      }
      io.out(
        json
          ? JSON.stringify({ plan: planJson(plan), changes: changeSetJson(changes) }, null, 2) + "\n"
          : renderChangeSetHuman(changes),
      );
      const converged = changes.clusters.every((c) => c.converged);
      return converged && !access.diagnostics.length && !hasErrors(plan) ? EXIT.ok : EXIT.error;
    } finally {
      access.close();
    }
  },
};

async function confirm(): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question("Apply these changes? [y/N] ")).trim());
  } finally {
    rl.close();
  }
}
