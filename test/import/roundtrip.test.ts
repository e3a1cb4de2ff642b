/**
 * Round trip on harness clusters: the podinfo-split example applied by
 * crosslink (links both ways, one with a 168h TTL, an export, a 50/50 split),
 * then `crosslink import` of both contexts: the imported topology validates,
 * describes the same mesh, and `crosslink diff` on it finds nothing to do.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { cli } from "./support.js";
import { loadTopologyFile } from "../../src/topology/index.js";
import { applyOnce, exampleTopology, useClusters } from "../engine/support.js";

const fx = useClusters(["workload1", "workload2"], "podinfo-split");

test("import of a crosslink-applied mesh gives back a topology whose diff is empty", async () => {
  const applied = await applyOnce(await exampleTopology("podinfo-split", fx.clusters.trustAnchorPem), fx.acc);
  assert.ok(
    applied.changes.clusters.every((c) => c.converged),
    JSON.stringify(applied.changes.clusters),
  );
  const dir = await mkdtemp(path.join(tmpdir(), "xl-import-rt-"));
  try {
    const file = path.join(dir, "multicluster.yaml");
    const kubeconfig = fx.clusters.kubeconfigPath;
    const t0 = Date.now();
    const imported = await cli(
      "import",
      "--context",
      "workload1",
      "--context",
      "workload2",
      "--kubeconfig",
      kubeconfig,
      "-o",
      file,
    );
    const importMs = Date.now() - t0;
    assert.equal(imported.code, 0, imported.err);
    assert.match(
      imported.out,
      /2 clusters, 2 links, 1 exported services, 1 splits, 1 trust anchors .*; 0 requests|, 0 writes/,
    );
    const requests = Number(/(\d+) requests/.exec(imported.out)?.[1]);
    assert.match(imported.out, / 0 writes\n$/);

    const text = await readFile(file, "utf8");
    const doc = parse(text) as { metadata: { name: string }; spec: Record<string, unknown[]> };
    assert.equal(doc.metadata.name, "podinfo-split", "the topology name comes from crosslink's labels");
    assert.deepEqual(doc.spec.links, [
      { from: "workload1", to: "workload2" },
      { from: "workload2", to: "workload1", credentials: { ttl: "168h" } },
    ]);
    assert.deepEqual(doc.spec.exports, [{ cluster: "workload2", namespace: "test", services: ["podinfo"] }]);
    assert.deepEqual(doc.spec.splits, [
      {
        cluster: "workload1",
        namespace: "test",
        service: "podinfo",
        api: "gateway",
        backends: [
          { service: "podinfo", weight: 50 },
          { service: "podinfo", cluster: "workload2", weight: 50 },
        ],
      },
    ]);
    assert.equal(
      await readFile(path.join(dir, "anchors", "root.crt"), "utf8"),
      fx.clusters.trustAnchorPem.trim() + "\n",
    );
    const { topology, diagnostics } = await loadTopologyFile(file);
    assert.ok(topology, JSON.stringify(diagnostics));
    assert.deepEqual(
      diagnostics.filter((d) => d.severity === "error"),
      [],
    );

    const diff = await cli("diff", "-f", file, "--kubeconfig", kubeconfig, "--output", "json");
    assert.equal(diff.code, 0, `${diff.out}\n${diff.err}`);
    const summary = (JSON.parse(diff.out) as { summary: Record<string, number> }).summary;
    assert.deepEqual(
      [summary.create, summary.update, summary.replace, summary.delete, summary.credentials],
      [0, 0, 0, 0, 0],
    );
    console.log(
      `# round trip: import ${importMs} ms, ${requests} requests, 0 writes; diff: ${JSON.stringify(summary)}; ${text.split("\n").length} lines`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
