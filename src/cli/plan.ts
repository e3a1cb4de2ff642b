/**
 * `crosslink plan`: what a change between two git revisions does to the mesh,
 * without touching any cluster (unless --live). Exit 0 no change, 2 changes, 1 errors.
 */
import { escapeControls } from "../util/escape.js";
import { loadGitSides } from "../review/git-load.js";
import {
  buildReview,
  renderReviewHuman,
  renderReviewJson,
  renderReviewMarkdown,
  reviewExitCode,
  type ObservedIssuer,
} from "../review/index.js";
import { TRAILER_ALLOWANCE } from "../review/safety.js";
import { GitSourceError } from "../source/git-revision.js";
import { ALL_CODES, PRUNE_GUARD_CODES, REVIEW_CODES } from "../codes.js";
import type { Command, CommandIo } from "./command.js";
import { parseArgs } from "node:util";

/** Exit codes, as `diff`'s (kept here so plan does not load the Kubernetes client unless --live). */
const EXIT = { ok: 0, error: 1, changes: 2 } as const;

const OPTIONS = {
  file: { type: "string", short: "f", default: "multicluster.yaml" },
  output: { type: "string", short: "o", default: "human" },
  base: { type: "string" },
  head: { type: "string", default: "HEAD" },
  repo: { type: "string", default: "." },
  live: { type: "boolean", default: false },
  kubeconfig: { type: "string" },
  "cache-dir": { type: "string" },
  "max-fetch-bytes": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

const HELP = `Usage: crosslink plan --base REV [--head REV] [--repo DIR|URL] [--cache-dir DIR] [--max-fetch-bytes N] [-f PATH] [--output human|markdown|json] [--live [--kubeconfig FILE]]

Shows what changing the topology from --base to --head does to the mesh:
clusters, links, exports, split weights and trust anchors added, removed or
changed, what each implies, head's validation diagnostics, and safety rules:
${[...Object.keys(REVIEW_CODES), ...PRUNE_GUARD_CODES]
  .map((code) => `  ${code} ${ALL_CODES[code]!.replaceAll("`", "")}`)
  .join("\n")}
REV: a branch, tag, sha, origin/main, HEAD~1. PATH is inside the repository.
With a URL, --repo is fetched into --cache-dir (default $XDG_CACHE_HOME/crosslink/git
or ~/.cache/crosslink/git, mode 0700) and REV names the server's branches and tags
as of that fetch; credentials in the URL are sent, never stored. A fetch over
--max-fetch-bytes (default 64 MiB) is refused.
--live also shows the object-level plan against the clusters (as 'crosslink diff').
Exit status: 0 no change, 2 changes, 1 errors (invalid head, failed safety rule, git error).
`;

/** The plan command. */
export const planCommand: Command = {
  run: (args, io) => runPlan(args, io),
};

/** Runs `crosslink plan ARGS`, writing to `io`; returns the exit code. */
async function runPlan(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });
  if (!["human", "markdown", "json"].includes(values.output)) {
    io.err(`crosslink plan: unknown output '${values.output}' (human, markdown or json)\n`);
    return EXIT.error;
  }
  if (values.help) {
    io.out(HELP);
    return EXIT.ok;
  }
  if (!values.base) {
    io.err("crosslink plan: --base REV is required\n");
    return EXIT.error;
  }
  const maxFetchBytes = values["max-fetch-bytes"] === undefined ? undefined : Number(values["max-fetch-bytes"]);
  if (maxFetchBytes !== undefined && !(Number.isSafeInteger(maxFetchBytes) && maxFetchBytes > 0)) {
    io.err(`crosslink plan: --max-fetch-bytes '${values["max-fetch-bytes"]}' is not a positive number of bytes\n`);
    return EXIT.error;
  }
  try {
    const sides = await loadGitSides({
      repo: values.repo,
      base: values.base,
      head: values.head,
      file: values.file,
      ...(values["cache-dir"] ? { cacheDir: values["cache-dir"] } : {}),
      ...(maxFetchBytes ? { maxFetchBytes } : {}),
    });
    let issuers: ObservedIssuer[] | undefined;
    let live: { text: string; json: Record<string, unknown>; changes: boolean; errors: boolean } | undefined;
    const headTopology = sides.head.load.valid ? sides.head.load.topology : undefined;
    if (values.live && headTopology) {
      // the engine and the Kubernetes client load only for --live
      const [
        { hasChanges, hasErrors: planHasErrors },
        { reconcile, observedIssuers },
        { renderPlanHuman },
        { planJson },
        { renderPlanMarkdown },
        { accessOrReport, engineOptions },
        { declarationsOf },
      ] = await Promise.all([
        import("../engine/plan/actions.js"),
        import("../engine/reconcile.js"),
        import("../report/human.js"),
        import("../report/json.js"),
        import("../report/markdown.js"),
        import("./common.js"),
        import("../engine/plan/declarations.js"),
      ]);
      const access = accessOrReport(headTopology, values.kubeconfig, io);
      try {
        // The same prune guard as apply and the daemon: base is what was declared before, the head's trailer allows.
        const baseTopology = sides.base.load.topology;
        const run = await reconcile(
          headTopology,
          access.clients,
          engineOptions(
            { "allow-mass-prune": sides.massPruneAllowed },
            { allowedBy: TRAILER_ALLOWANCE, ...(baseTopology ? { previous: declarationsOf(baseTopology) } : {}) },
          ),
        );
        issuers = observedIssuers(run);
        const text =
          values.output === "markdown"
            ? renderPlanMarkdown(run.plan, "Object-level plan (--live)")
            : values.output === "json"
              ? ""
              : `\nObject-level plan (--live):\n${renderPlanHuman(run.plan)}`;
        live = {
          text,
          json: planJson(run.plan),
          changes: hasChanges(run.plan),
          errors: planHasErrors(run.plan) || access.diagnostics.length > 0,
        };
      } finally {
        access.close();
      }
    }
    const review = buildReview({
      file: values.file,
      base: sides.base,
      head: sides.head,
      massPruneAllowed: sides.massPruneAllowed,
      ...(issuers ? { issuers } : {}),
    });
    if (values.output === "json") io.out(JSON.stringify(renderReviewJson(review, live?.json), null, 2) + "\n");
    else if (values.output === "markdown")
      io.out(escapeControls(renderReviewMarkdown(review, live?.text) + "\n", true));
    else io.out(escapeControls(renderReviewHuman(review) + (live?.text ?? ""), true));
    return reviewExitCode(review, live);
  } catch (err) {
    if (err instanceof GitSourceError) {
      io.err(`crosslink plan: error ${err.code}: ${err.message}\n  hint: ${err.hint}\n`);
      return EXIT.error;
    }
    throw err;
  }
}
