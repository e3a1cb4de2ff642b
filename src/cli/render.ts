/**
 * `crosslink render --out DIR`: the desired manifests, one multi-document
 * YAML file per cluster, for Argo CD or Flux users and for comparison with
 * `kubectl apply --server-side`. Credentials that would have to be issued are
 * left out (they need a token from the target at apply time); Secret values
 * are written only with --include-secrets.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import yaml from "js-yaml";
import type { KubeObject } from "../kube/object.js";
import { reconcile } from "../engine/reconcile.js";
import type { DesiredCluster } from "../engine/render/desired.js";
import type { Command } from "./command.js";
import { EXIT, accessOrReport, engineOptions, loadOrReport, parseEngineArgs } from "./common.js";

const HELP = `Usage: crosslink render [-f FILE] [--kubeconfig FILE] --out DIR [--include-secrets]

Writes DIR/<cluster>.yaml with every object crosslink wants in that cluster
(owned objects, then the partial Services that carry export labels).
`;

/** The manifests of one cluster's desired state, in apply order as rendered. */
export function desiredManifests(d: DesiredCluster, includeSecrets: boolean): KubeObject[] {
  const objects = [...d.objects, ...d.patches.map((p) => p.object)];
  return objects
    .map((o) => (o.kind === "Secret" && !includeSecrets && o.data ? { ...o, data: undefined } : o))
    .map((o) => JSON.parse(JSON.stringify(o)) as KubeObject);
}

/** The render command. */
export const renderCommand: Command = {
  async run(args, io) {
    const { values } = parseEngineArgs(args, {
      out: { type: "string" },
      "include-secrets": { type: "boolean", default: false },
    });
    if (values.help || !values.out) {
      io.out(HELP);
      return values.help ? EXIT.ok : EXIT.error;
    }
    const topology = await loadOrReport(values.file, io);
    if (!topology) return EXIT.error;
    const access = accessOrReport(topology, values.kubeconfig, io);
    try {
      const { desired, observations } = await reconcile(topology, access.clients, engineOptions(values));
      await mkdir(values.out, { recursive: true });
      for (const [cluster, d] of desired) {
        const docs = desiredManifests(d, values["include-secrets"] ?? false).map((o) =>
          yaml.dump(o, { lineWidth: -1, noRefs: true }),
        );
        const file = path.join(values.out, `${cluster}.yaml`);
        await writeFile(file, docs.join("---\n"));
        io.out(
          `${file}: ${docs.length} objects${d.credentials.length ? ` (${d.credentials.length} credential(s) to issue at apply time, not rendered)` : ""}\n`,
        );
      }
      const failed = observations.filter((o) => !o.ok);
      for (const o of failed) if (!o.ok) io.err(`cluster ${o.cluster}: not rendered: ${o.error}\n`);
      return failed.length || access.diagnostics.length ? EXIT.error : EXIT.ok;
    } finally {
      access.close();
    }
  },
};
