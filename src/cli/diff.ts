/** `crosslink diff`: the plan, without changing anything. Exit 0 in sync, 2 changes pending, 1 error. */
import { reconcile } from "../engine/reconcile.js";
import { hasErrors } from "../engine/plan/actions.js";
import { renderPlanHuman } from "../report/human.js";
import { planJson } from "../report/json.js";
import { renderPlanMarkdown } from "../report/markdown.js";
import { inSync } from "../report/summary.js";
import type { Command } from "./command.js";
import { EXIT, accessOrReport, engineOptions, loadOrReport, parseEngineArgs } from "./common.js";

const HELP = `Usage: crosslink diff [-f FILE] [--kubeconfig FILE] [--output human|markdown|json]

Shows what apply would change in every cluster: + create, ~ update, - delete,
with the changed fields (secret values shown as (sensitive)).
Exit status: 0 in sync, 2 changes pending, 1 error (invalid topology, unreachable cluster, error finding).
`;

/** The diff command. */
export const diffCommand: Command = {
  async run(args, io) {
    const { values } = parseEngineArgs(args, {});
    if (values.help) {
      io.out(HELP);
      return EXIT.ok;
    }
    const topology = await loadOrReport(values.file, io);
    if (!topology) return EXIT.error;
    const access = accessOrReport(topology, values.kubeconfig, io);
    try {
      const { plan } = await reconcile(topology, access.clients, engineOptions(values));
      io.out(formatPlan(plan, values.output));
      if (access.diagnostics.length || hasErrors(plan)) return EXIT.error;
      return inSync(plan) ? EXIT.ok : EXIT.changes;
    } finally {
      access.close();
    }
  },
};

/** The plan in the chosen output format. */
export function formatPlan(plan: Parameters<typeof renderPlanHuman>[0], output: string): string {
  if (output === "json") return JSON.stringify(planJson(plan), null, 2) + "\n";
  if (output === "markdown") return renderPlanMarkdown(plan) + "\n";
  return renderPlanHuman(plan);
}
