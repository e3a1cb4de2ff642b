/** `crosslink check`: the health of the whole mesh, per cluster and link. Exit 0 healthy, 2 warnings, 1 failures. */
import { gatherCheckFacts } from "../check/gather.js";
import { checkJson, renderCheckHuman, type CheckFigures } from "../check/report.js";
import { checkExitCode, runChecks } from "../check/run-checks.js";
import type { Command } from "./command.js";
import { EXIT, accessOrReport, engineOptions, loadOrReport, parseEngineArgs } from "./common.js";

const HELP = `Usage: crosslink check [-f FILE] [--kubeconfig FILE] [--output human|json]

Checks every cluster and link of the topology, in the style of \`linkerd check\`:
Links and controllers as crosslink renders them, credentials that authenticate
and may do exactly what the mirror needs (with time left), a mirror controller
holding each link's Lease, every export mirrored with endpoints, no orphaned
mirrors, identical trust bundles across links, anchors and issuers valid for
more than 60 days, splits that send to existing mirrors. Writes nothing.
Exit status: 0 healthy, 2 warnings only, 1 failures (or an invalid topology).
`;

/** The check command. */
export const checkCommand: Command = {
  async run(args, io) {
    const { values } = parseEngineArgs(args, {});
    if (values.help) {
      io.out(HELP);
      return EXIT.ok;
    }
    const started = Date.now();
    const topology = await loadOrReport(values.file, io);
    if (!topology) return EXIT.error;
    const access = accessOrReport(topology, values.kubeconfig, io);
    try {
      const { facts, credentialRequests } = await gatherCheckFacts(topology, access.clients, engineOptions(values));
      const results = runChecks(facts);
      const figures: CheckFigures = { ms: Date.now() - started, requests: {} };
      for (const c of topology.clusters)
        figures.requests[c.name] = {
          crosslink: access.clients.get(c.name)?.counters.requests ?? 0,
          credentials: credentialRequests.get(c.name) ?? 0,
        };
      io.out(
        values.output === "json"
          ? JSON.stringify(checkJson(topology.name, results, figures), null, 2) + "\n"
          : renderCheckHuman(topology.name, results, figures),
      );
      return checkExitCode(results);
    } finally {
      access.close();
    }
  },
};
