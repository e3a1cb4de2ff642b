/**
 * `crosslink validate [FILE]`: checks a topology file and prints every problem
 * like a compiler. Exit 0 when valid (warnings allowed), 1 when not.
 */
import { parseArgs } from "node:util";
import { formatDiagnostics, hasErrors } from "../diagnostics.js";
import { loadTopologyFile } from "../topology/load.js";
import type { Topology } from "../topology/types.js";
import { escapeControls } from "../util/escape.js";
import type { Command } from "./command.js";

const HELP = `Usage: crosslink validate [FILE] [-f FILE] [--output text|json]

Checks a topology file (default ./multicluster.yaml): YAML, schema, references,
links, exports, splits and trust anchors. Prints every problem as
FILE:LINE:COL: error|warning CODE: message. Exits 0 when valid, 1 when not.

Options:
  -f, --file FILE      the topology file (also accepted as the first argument)
  -o, --output FORMAT  text (default) or json
  -h, --help           show this help`;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** One-line summary of a valid topology, e.g. `3 clusters, 2 links, 4 exports, 1 split`. */
export function summarise(t: Topology): string {
  const exported = t.exports.reduce((n, e) => n + e.services.length, 0);
  return `${plural(t.clusters.length, "cluster")}, ${plural(t.links.length, "link")}, ${plural(exported, "export")}, ${plural(t.splits.length, "split")}`;
}

/** The `validate` command. */
export const validateCommand: Command = {
  async run(args, io) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          file: { type: "string", short: "f" },
          output: { type: "string", short: "o", default: "text" },
          help: { type: "boolean", short: "h" },
        },
      });
    } catch (err) {
      io.err(`crosslink validate: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}\n`);
      return 2;
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out(HELP + "\n");
      return 0;
    }
    if (values.output !== "text" && values.output !== "json") {
      io.err(`crosslink validate: --output must be text or json, not ${values.output}\n`);
      return 2;
    }
    if (positionals.length > 1 || (positionals.length === 1 && values.file !== undefined)) {
      io.err(`crosslink validate: give one topology file\n\n${HELP}\n`);
      return 2;
    }
    const file = values.file ?? positionals[0] ?? "multicluster.yaml";
    const { topology, diagnostics } = await loadTopologyFile(file);
    const valid = topology !== undefined && !hasErrors(diagnostics);
    if (values.output === "json") {
      io.out(JSON.stringify({ file, valid, diagnostics }, null, 2) + "\n");
    } else {
      if (diagnostics.length) io.out(formatDiagnostics(diagnostics) + "\n");
      const shown = escapeControls(file);
      if (valid) io.out(`${shown}: valid (${summarise(topology)})\n`);
      else {
        const errors = diagnostics.filter((d) => d.severity === "error").length;
        const warnings = diagnostics.length - errors;
        io.out(`${shown}: invalid (${plural(errors, "error")}${warnings ? `, ${plural(warnings, "warning")}` : ""})\n`);
      }
    }
    return valid ? 0 : 1;
  },
};
