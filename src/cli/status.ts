/** `crosslink status`: prints the status of a running daemon (its `/status` endpoint). */
import { parseArgs } from "node:util";
import { formatDiagnostics } from "../diagnostics.js";
import type { DaemonStatus } from "../daemon/status.js";
import { describeCounts } from "../report/summary.js";
import { escapeControls } from "../util/escape.js";
import type { Command } from "./command.js";
import { EXIT } from "./common.js";

const HELP = `Usage: crosslink status [--url URL] [--output human|json]

Prints the status of a running crosslink daemon: revision in force, rejected commit with its
diagnostics, per-cluster state, last plan and last errors. --url defaults to CROSSLINK_URL,
else http://127.0.0.1:9090 (the daemon's --metrics-listen). Exit status: 0 healthy, 1 unreachable or errors, 2 a rejected
revision or a cluster not in sync.
`;

/** The status command. */
export const statusCommand: Command = {
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        url: { type: "string" },
        output: { type: "string", short: "o", default: "human" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      io.out(HELP);
      return EXIT.ok;
    }
    const base = values.url ?? process.env.CROSSLINK_URL ?? "http://127.0.0.1:9090";
    let status: DaemonStatus;
    try {
      const res = await fetch(new URL("/status", base), { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      status = (await res.json()) as DaemonStatus;
    } catch (err) {
      io.err(`crosslink status: ${base}: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT.error;
    }
    io.out(values.output === "json" ? JSON.stringify(status, null, 2) + "\n" : formatStatus(status));
    if (status.rejected || status.clusters.some((c) => c.state !== "ok")) return EXIT.changes;
    return status.fetch.ok === false ? EXIT.error : EXIT.ok;
  },
};

const short = (rev?: string) => (rev ? rev.slice(0, 12) : "-");

/** Formats a status for a terminal; text from the repository and the clusters is escaped. */
export function formatStatus(s: DaemonStatus): string {
  return escapeControls(statusLines(s).join("\n") + "\n", true);
}

function statusLines(s: DaemonStatus): string[] {
  const e = (t: string | undefined) => escapeControls(t ?? "");
  const lines = [
    `source:     ${s.source}`,
    ...(s.detail === false
      ? ["            (server names and error texts hidden: the daemon runs without --status-detail)"]
      : []),
    `role:       ${s.role} (${s.identity})${s.suspended ? "  SUSPENDED: writes stopped" : ""}`,
    `drift:      ${s.drift}`,
    `revision:   head ${short(s.revision.head)}  in force ${short(s.revision.lastGood)}  applied ${short(s.revision.applied)}${s.revision.appliedAt ? ` at ${s.revision.appliedAt}` : ""}`,
  ];
  if (s.revision.message) lines.push(`            ${e(s.revision.message)}`);
  lines.push(
    `fetch:      ${s.fetch.ok === undefined ? "not yet" : s.fetch.ok ? `ok at ${s.fetch.lastAt}` : `FAILED at ${s.fetch.lastAt}: ${e(s.fetch.error)}`}`,
  );
  if (s.rejected) {
    lines.push(`rejected:   ${short(s.rejected.revision)} (${e(s.rejected.reason)}) since ${s.rejected.since}`);
    if (s.rejected.diagnostics.length)
      lines.push(
        ...formatDiagnostics(s.rejected.diagnostics)
          .split("\n")
          .map((l) => "  " + l),
      );
    else lines.push("  " + e(s.rejected.message));
  }
  if (s.lastMove)
    lines.push(
      `moved:      ${short(s.lastMove.from)} → ${short(s.lastMove.to)}: not a fast-forward (${s.lastMove.relation})${s.lastMove.refused ? ", REFUSED" : ""} at ${s.lastMove.at}`,
    );
  if (s.lastReconcile) {
    const r = s.lastReconcile;
    lines.push(
      `last run:   ${r.at} (${r.trigger}, ${r.durationMs} ms, ${r.result})${r.wrote ? " wrote" : ""}: ${describeCounts(r.plan)}`,
    );
  }
  if (s.lastSuccessAt) lines.push(`success:    ${s.lastSuccessAt}`);
  if (s.unchanged)
    lines.push(`unchanged:  ${s.unchanged.ticks} tick(s) skipped since ${s.unchanged.since} (no watch change)`);
  lines.push("clusters:");
  for (const c of s.clusters) {
    lines.push(
      `  ${e(c.name).padEnd(20)} ${c.state.padEnd(12)} planned ${c.planned}, applied ${c.applied}${c.failed ? `, failed ${c.failed}` : ""}${c.backoffUntil ? `, next try ${c.backoffUntil}` : ""}${c.error ? `\n    ${e(c.error)}` : ""}`,
    );
  }
  if (!s.clusters.length) lines.push("  (none reconciled yet)");
  if (s.certificateWarnings?.length) {
    lines.push("certificates expiring within 60 days:");
    for (const w of s.certificateWarnings)
      lines.push(
        `  WARNING [${e(w.cluster)}] ${w.kind} ${e(w.name)}${w.kind === "issuer" ? ` (chains to ${e(w.anchor)})` : ""} expires ${w.notAfter} (${w.days} days): ${w.kind === "anchor" ? "rotate the trust anchor (role: next)" : "reissue it: crosslink certs issuer"}`,
      );
  }
  if (s.lastErrors.length) {
    lines.push("last errors:");
    for (const x of s.lastErrors.slice(0, 5))
      lines.push(`  ${x.at} ${x.cluster ? `[${e(x.cluster)}] ` : ""}${e(x.message)}`);
  }
  return lines;
}
