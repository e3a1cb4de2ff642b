/**
 * `crosslink import --context A --context B … [-o FILE]`: reads the live
 * clusters (GET and LIST only) and writes a topology that describes them, with
 * comments where it guessed, and the trust anchors as files beside it. The
 * result is validated before anything is written; nothing is written to a cluster.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { formatDiagnostics, hasErrors } from "../diagnostics.js";
import { buildTopology, ImportError } from "../import/build.js";
import { topologyYaml } from "../import/document.js";
import { readCluster } from "../import/read.js";
import type { LiveCluster } from "../import/live.js";
import { clientForContext, loadKubeConfig } from "../kube/access.js";
import type { HttpClusterClient } from "../kube/http-client.js";
import { loadTopology } from "../topology/index.js";
import { errorMessage, mapLimit } from "../util/concurrency.js";
import type { Command, CommandIo } from "./command.js";
import { EXIT } from "./common.js";

const HELP = `Usage: crosslink import --context NAME [--context NAME …] [--kubeconfig FILE] [-o FILE] [--name NAME] [--force]

Reads each context's cluster (Links and their credentials, exported and federated Services,
HTTPRoutes and TrafficSplits that send to mirrors, the trust-root bundle) and writes a topology
(default multicluster.yaml) that describes the mesh as it is, with a comment wherever import
guessed or left something out, and the trust anchors as files in anchors/ beside it. Applying it
adopts what Linkerd's CLI made: ownership labels only, no object recreated, credentials kept
(see docs/decisions.md §12). Only GET and LIST requests are sent.
--name names the topology when the clusters carry no crosslink topology label (default imported).
--force overwrites existing files. Exit status: 0 written, 1 error (nothing written).
`;

/** The import command. */
export const importCommand: Command = {
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        context: { type: "string", multiple: true, default: [] },
        kubeconfig: { type: "string" },
        output: { type: "string", short: "o", default: "multicluster.yaml" },
        name: { type: "string" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: false,
      strict: true,
    });
    if (values.help || !values.context.length) {
      (values.help ? io.out : io.err)(HELP);
      return values.help ? EXIT.ok : EXIT.error;
    }
    const contexts = [...new Set(values.context)];
    const kc = loadKubeConfig(values.kubeconfig);
    const clients = new Map<string, HttpClusterClient>();
    try {
      for (const ctx of contexts) {
        const client = clientForContext(kc, ctx, ctx);
        if (!client) {
          io.err(
            `crosslink import: kubeconfig has no context '${ctx}' (known: ${
              kc
                .getContexts()
                .map((c) => c.name)
                .join(", ") || "none"
            })\n`,
          );
          return EXIT.error;
        }
        clients.set(ctx, client);
      }
      const read = await mapLimit(contexts, 8, async (ctx) => {
        try {
          return { ctx, live: await readCluster(ctx, clients.get(ctx)!) };
        } catch (err) {
          return { ctx, error: errorMessage(err) };
        }
      });
      const failed = read.filter((r) => r.error);
      for (const f of failed) io.err(`crosslink import: context ${f.ctx}: ${f.error}\n`);
      if (failed.length) return EXIT.error;
      const live = read.map((r) => r.live as LiveCluster);
      return await writeImport(live, values, io, clients);
    } catch (err) {
      if (err instanceof ImportError) {
        io.err(`crosslink import: ${err.message}\n`);
        return EXIT.error;
      }
      throw err;
    } finally {
      for (const c of clients.values()) c.close();
    }
  },
};

async function writeImport(
  live: LiveCluster[],
  values: { output: string; name?: string | undefined; force: boolean },
  io: CommandIo,
  clients: ReadonlyMap<string, HttpClusterClient>,
): Promise<number> {
  const result = buildTopology(live, values.name ? { name: values.name } : {});
  const text = topologyYaml(result, [
    `Written by \`crosslink import\` from the contexts ${live.map((c) => c.context).join(", ")}.`,
    "Comments mark what import guessed or left out; review them before the first apply.",
  ]);
  const out = path.resolve(values.output);
  const dir = path.dirname(out);
  const files = new Map(result.anchors.map((a) => [path.resolve(dir, a.file), a.pem]));
  // The project's own validator (schema, rules, anchors) on what is about to be written.
  const check = await loadTopology({
    file: values.output,
    text,
    baseDir: dir,
    root: dir,
    readFile: async (p) => {
      const pem = files.get(path.resolve(p));
      if (pem === undefined) throw Object.assign(new Error(`not written by import: ${p}`), { code: "ENOENT" });
      return pem;
    },
  });
  if (check.diagnostics.length) io.err(formatDiagnostics(check.diagnostics) + "\n");
  if (hasErrors(check.diagnostics)) {
    io.err("crosslink import: the imported topology does not validate; nothing written\n");
    return EXIT.error;
  }
  const existing = [out, ...files.keys()].filter((f) => existsSync(f));
  if (existing.length && !values.force) {
    io.err(`crosslink import: ${existing.join(", ")} exist; pass --force to overwrite (nothing written)\n`);
    return EXIT.error;
  }
  for (const [file, pem] of files) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, pem);
  }
  await writeFile(out, text);
  const c = result.counts;
  let requests = 0;
  let writes = 0;
  for (const cl of clients.values()) {
    requests += cl.counters.requests;
    writes += cl.counters.writes;
  }
  io.out(
    `${values.output}: ${c.clusters} clusters, ${c.links} links${c.linksLeftOut ? ` (${c.linksLeftOut} left out, see comments)` : ""}, ` +
      `${c.exports} exported services, ${c.splits} splits, ${c.anchors} trust anchors (${result.anchors.map((a) => a.file).join(", ")}); ` +
      `${result.notes.length} comments; ${requests} requests, ${writes} writes\n`,
  );
  return EXIT.ok;
}
