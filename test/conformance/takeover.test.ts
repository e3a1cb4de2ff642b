/**
 * Takeover without churn, with Linkerd's own tools (edge-26.8.3) on two harness
 * clusters: west is linked to east by `linkerd multicluster link-gen` (applied
 * with server-side apply, field manager kubectl, as `kubectl apply
 * --server-side` would), its controller is the multicluster chart's
 * `controllers` entry, services are exported with `kubectl label`-style
 * patches and a hand-written HTTPRoute splits web-svc. Linkerd's real
 * service-mirror controller runs throughout. `crosslink import` reads both
 * clusters (GET/LIST only), and applying the imported topology adopts the
 * Link, both credential Secrets and the export labels: no Link, Secret or
 * mirror is deleted or created, the mirrors keep their uids (watched), the
 * credentials keep their bytes, the controller is never restarted.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { KubernetesObjectApi, Watch } from "@kubernetes/client-node";
import { startClusters } from "../harness/driver.js";
import { access, applyOnce } from "../engine/support.js";
import { cli } from "../import/support.js";
import { clientForContext, loadKubeConfig } from "../../src/kube/access.js";
import type { KubeObject } from "../../src/kube/object.js";
import { planTopology, reconcile, reconcileOptions } from "../../src/engine/reconcile.js";
import { readCluster } from "../../src/import/read.js";
import { loadTopologyFile } from "../../src/topology/index.js";
import { cliVersion, linkerdOk, yamlObjects } from "./linkerd-cli.js";
import { MirrorController } from "./mirror-controller.js";
import { timed, writeEndpoints } from "./support.js";
import { requireLinkerdTools } from "./tools.js";
import { kindsRecordName } from "../../src/engine/kinds-record.js";

const NS = "emojivoto";
const MC = "linkerd-multicluster";
const MIRRORS = ["web-svc-east", "emoji-svc-east", "voting-svc-federated"];
/** The objects of the chart's `controllers` entry for link east (`linkerd multicluster install --set controllers[0].link.ref.name=east`). */
const CHART_CONTROLLER = new Set([
  "ServiceAccount/controller-east",
  "Deployment/controller-east",
  "Service/probe-east",
  "ClusterRoleBinding/linkerd-multicluster-controller-access-local-resources-east",
  "Role/controller-read-remote-creds-east",
  "RoleBinding/controller-read-remote-creds-east",
]);

type Snapshot = Record<string, { uid: string; created: string; rv: string; data?: string }>;

test("import → apply on a link-gen mesh adopts it: no Link, Secret or mirror deleted or created, mirror uids unchanged", async (t) => {
  const { tools, skip } = await requireLinkerdTools();
  if (!tools) return t.skip(skip);
  const version = await cliVersion(tools);
  const clusters = await startClusters(["east", "west"], { log: () => {}, seed: { linkerdVersion: version } });
  const dir = await mkdtemp(path.join(tmpdir(), "xl-takeover-"));
  const kubeconfig = clusters.kubeconfigPath;
  const kc = loadKubeConfig(kubeconfig);
  const east = clientForContext(kc, "east", "east")!;
  const west = clientForContext(kc, "west", "west")!;
  let ctl: MirrorController | undefined;
  let stopWatch: AbortController | undefined;
  let acc: ReturnType<typeof access> | undefined;
  const figures: Record<string, unknown> = {};
  try {
    // ── The "before" mesh, made by Linkerd's CLI and kubectl-equivalent writes. ──
    const kubectl = (c: typeof west, o: KubeObject) => c.apply(o, { fieldManager: "kubectl", force: true });
    const linkGen = yamlObjects(
      await linkerdOk(tools, { kubeconfig, context: "east" }, ["multicluster", "link-gen", "--cluster-name", "east"]),
    );
    assert.deepEqual(linkGen.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort(), [
      "Link/linkerd-multicluster/east",
      "Secret/linkerd-multicluster/cluster-credentials-east",
      "Secret/linkerd/cluster-credentials-east",
    ]);
    for (const o of linkGen) await kubectl(west, o);
    const chart = yamlObjects(
      await linkerdOk(tools, undefined, [
        "multicluster",
        "install",
        "--ignore-cluster",
        "--set",
        "controllers[0].link.ref.name=east",
      ]),
    ).filter((o) => CHART_CONTROLLER.has(`${o.kind}/${o.metadata.name}`));
    assert.equal(chart.length, CHART_CONTROLLER.size);
    for (const o of chart) await kubectl(west, o);
    const label = (name: string, labels: Record<string, string>) =>
      east.patch(
        { apiVersion: "v1", kind: "Service", namespace: NS, name },
        { metadata: { labels } },
        { fieldManager: "kubectl-label" },
      );
    await label("web-svc", { "mirror.linkerd.io/exported": "true" });
    await label("emoji-svc", { "mirror.linkerd.io/exported": "remote-discovery" });
    await label("voting-svc", { "mirror.linkerd.io/federated": "member" });
    const eastObjects = KubernetesObjectApi.makeApiClient(clusters.kubeConfig("east"));
    await writeEndpoints(east, eastObjects, NS, "web-svc", ["10.42.0.11"]);
    await writeEndpoints(east, eastObjects, NS, "emoji-svc", ["10.42.0.12"]);
    await writeEndpoints(east, eastObjects, NS, "voting-svc", ["10.42.0.13"]);

    // The real controller, with the chart's ServiceAccount, running from here to the end.
    ctl = new MirrorController({ tools, client: west, from: "west", to: "east", dir });
    await ctl.start();
    for (const name of MIRRORS)
      await timed(name, () => west.get({ apiVersion: "v1", kind: "Service", namespace: NS, name }), 30_000);
    // A split written by hand, sending half of web-svc to its mirror.
    await kubectl(west, {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "web-svc-route", namespace: NS },
      spec: {
        parentRefs: [{ name: "web-svc", kind: "Service", group: "core", port: 80 }],
        rules: [
          {
            backendRefs: [
              { name: "web-svc", port: 80, weight: 50 },
              { name: "web-svc-east", port: 80, weight: 50 },
            ],
          },
        ],
      },
    });

    const snapshot = async (): Promise<Snapshot> => {
      const out: Snapshot = {};
      const refs = [
        ...MIRRORS.map((name) => ({ apiVersion: "v1", kind: "Service", namespace: NS, name })),
        { apiVersion: "multicluster.linkerd.io/v1alpha3", kind: "Link", namespace: MC, name: "east" },
        { apiVersion: "v1", kind: "Secret", namespace: MC, name: "cluster-credentials-east" },
        { apiVersion: "v1", kind: "Secret", namespace: "linkerd", name: "cluster-credentials-east" },
        { apiVersion: "apps/v1", kind: "Deployment", namespace: MC, name: "controller-east" },
      ];
      for (const ref of refs) {
        const o = await west.get(ref);
        assert.ok(o, `${ref.kind} ${ref.namespace}/${ref.name} in west`);
        const m = o.metadata as { uid: string; creationTimestamp: string; resourceVersion: string };
        out[`${ref.kind}/${ref.namespace}/${ref.name}`] = {
          uid: m.uid,
          created: m.creationTimestamp,
          rv: m.resourceVersion,
          ...(o.data ? { data: JSON.stringify(o.data) } : {}),
        };
      }
      return out;
    };
    // The controller settles first: under load it was seen to replace a mirror it had just made (before crosslink
    // ran at all), so "before" is two snapshots 2 s apart with the same uids (bounded: 30 s).
    const settled = async (): Promise<Snapshot> => {
      const uids = (x: Snapshot) => JSON.stringify(Object.entries(x).map(([k, v]) => [k, v.uid]));
      const until = Date.now() + 30_000;
      for (;;) {
        const a = await snapshot().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 2_000));
        const b = await snapshot().catch(() => undefined);
        if (a && b && uids(a) === uids(b)) return b;
        if (Date.now() > until) return snapshot(); // fails with the missing object named
      }
    };
    const before = await settled();

    // Every event on west's mirror Services from here on.
    const events: { type: string; name: string; uid: string }[] = [];
    stopWatch = await new Watch(clusters.kubeConfig("west")).watch(
      `/api/v1/namespaces/${NS}/services`,
      { labelSelector: "mirror.linkerd.io/mirrored-service=true" },
      (type, obj: KubeObject) =>
        events.push({ type, name: obj.metadata.name, uid: (obj.metadata as { uid: string }).uid }),
      () => {},
    );

    // ── import: reads only. ──
    const probes = [clientForContext(kc, "east", "east")!, clientForContext(kc, "west", "west")!];
    const live = await Promise.all(probes.map((c) => readCluster(c.cluster, c)));
    figures.readRequests = probes.map((c) => ({ ...c.counters.byVerb }));
    for (const c of probes) {
      assert.equal(c.counters.writes, 0, `import wrote to ${c.cluster}`);
      assert.deepEqual(Object.keys(c.counters.byVerb).sort(), ["GET"], "import sends only GET (get and list)");
      c.close();
    }
    assert.equal(live[1]!.links.length, 1);
    const file = path.join(dir, "multicluster.yaml");
    const imported = await cli(
      "import",
      "--context",
      "east",
      "--context",
      "west",
      "--kubeconfig",
      kubeconfig,
      "-o",
      file,
    );
    assert.equal(imported.code, 0, imported.err);
    assert.match(imported.out, /2 clusters, 1 links, 3 exported services, 1 splits, 1 trust anchors/);
    assert.match(imported.out, /, 0 writes\n$/);
    figures.importLine = imported.out.trim();
    const text = await readFile(file, "utf8");
    figures.importedYaml = text;
    assert.match(text, /# mirror controller controller-east was made by kubectl/);
    assert.match(text, /# a long-lived token of linkerd-service-mirror-remote-access-default/);
    assert.match(text, /crosslink writes it as web-svc-split: delete web-svc-route/);
    const { topology, diagnostics } = await loadTopologyFile(file);
    assert.ok(topology, JSON.stringify(diagnostics));
    assert.deepEqual(topology.links, [
      {
        from: "west",
        to: "east",
        controller: "external",
        credentials: {
          mode: "service-account-token",
          ttlSeconds: 86400,
          serviceAccount: "linkerd-service-mirror-remote-access-default",
        },
        excludedLabels: [],
        excludedAnnotations: [],
      },
    ]);

    // ── The plan: ownership changes only. ──
    acc = access(topology, kubeconfig);
    const { plan } = await planTopology(topology, acc.clients, reconcileOptions());
    let actions = plan.clusters.flatMap((c) =>
      c.actions.map((a) => {
        const ref = a.type === "create" ? a.object : a.type === "credentials" ? undefined : a.ref;
        return {
          cluster: c.cluster,
          type: a.type,
          what: ref ? `${ref.kind}/${"metadata" in ref ? ref.metadata.name : ref.name}` : "credentials",
          adoptedFrom: a.type === "update" ? a.adoptedFrom : undefined,
          changes: a.type === "update" || a.type === "create" ? a.changes.map((ch) => ch.path.join(".")) : [],
        };
      }),
    );
    figures.plan = actions;
    // The kinds record (plan's bookkeeping Secret, crosslink's own name) is created where crosslink writes more than
    // the always-listed kinds; it is not an object of the mesh being taken over.
    const record = `Secret/${kindsRecordName(topology.name)}`;
    assert.ok(
      actions.filter((a) => a.what === record).every((a) => a.type === "create"),
      "the kinds record is only created",
    );
    actions = actions.filter((a) => a.what !== record);
    const churn = actions.filter(
      (a) =>
        a.type !== "update" &&
        (/^(Link|Secret)\//.test(a.what) || a.type === "credentials" || MIRRORS.some((m) => a.what === `Service/${m}`)),
    );
    assert.deepEqual(churn, [], "no create, replace, delete or credentials of a Link, Secret or mirror");
    assert.deepEqual(
      actions.filter((a) => a.type === "delete" || a.type === "replace"),
      [],
    );
    const adopted = actions.filter((a) => a.adoptedFrom).map((a) => `${a.cluster}:${a.what}`);
    assert.deepEqual(adopted.sort(), [
      "east:Service/emoji-svc",
      "east:Service/voting-svc",
      "east:Service/web-svc",
      "west:Link/east",
      "west:Secret/cluster-credentials-east",
      "west:Secret/cluster-credentials-east",
    ]);
    for (const a of actions.filter((x) => x.adoptedFrom))
      assert.ok(
        a.changes.every((p) => p.startsWith("metadata.labels.")),
        `${a.what}: only labels change (${a.changes.join(", ")})`,
      );
    // The one create: the split under crosslink's name (the hand-written route stays until the user deletes it).
    assert.deepEqual(
      actions.filter((a) => a.type === "create").map((a) => `${a.cluster}:${a.what}`),
      ["west:HTTPRoute/web-svc-split"],
    );
    const diff = await cli("diff", "-f", file, "--kubeconfig", kubeconfig);
    figures.diff = diff.out;
    assert.equal(diff.code, 2, diff.err);

    // ── Apply, with the controller running; then give it time to react. ──
    const applied = await applyOnce(topology, acc);
    assert.ok(
      applied.changes.clusters.every((c) => c.converged),
      JSON.stringify(applied.changes.clusters),
    );
    figures.applyWrites = applied.writes;
    await new Promise((r) => setTimeout(r, 3_000));
    const after = await snapshot();
    for (const [key, b] of Object.entries(before)) {
      const a = after[key]!;
      assert.equal(a.uid, b.uid, `${key} kept its uid`);
      assert.equal(a.created, b.created, `${key} kept its creationTimestamp`);
      if (b.data !== undefined) assert.equal(a.data, b.data, `${key} kept its credentials`);
    }
    figures.uids = Object.fromEntries(
      Object.entries(before).map(([k, b]) => [k, { before: b.uid, after: after[k]!.uid }]),
    );
    const baseline = new Set(MIRRORS.map((m) => before[`Service/${NS}/${m}`]!.uid));
    figures.mirrorEvents = events.reduce<Record<string, number>>(
      (n, e) => ({ ...n, [e.type]: (n[e.type] ?? 0) + 1 }),
      {},
    );
    assert.deepEqual(
      events.filter((e) => e.type === "DELETED"),
      [],
      "no mirror deleted",
    );
    assert.deepEqual(
      events.filter((e) => !baseline.has(e.uid)),
      [],
      "no mirror created",
    );
    assert.equal(ctl.starts, 1, "the controller was never restarted");
    const exited = await Promise.race([ctl.process!.exited.then(() => true), Promise.resolve(false)]);
    assert.equal(exited, false, "the controller is still running");

    // Adopted: the next plan is empty, and the objects carry crosslink's labels and field manager.
    const again = await planTopology(topology, acc.clients, reconcileOptions());
    assert.deepEqual(
      again.plan.clusters.flatMap((c) => c.actions.map((a) => `${c.cluster}:${a.type}:${a.reason}`)),
      [],
    );
    const link = (await west.get({
      apiVersion: "multicluster.linkerd.io/v1alpha3",
      kind: "Link",
      namespace: MC,
      name: "east",
    }))!;
    assert.equal(link.metadata.labels?.["app.kubernetes.io/managed-by"], "crosslink");
    assert.ok(link.metadata.managedFields?.some((m) => m.manager === "crosslink" && m.operation === "Apply"));
    // --rotate-credentials renews them now: the install account's token Secret, written by crosslink; mirrors untouched.
    const rotated = await reconcile(
      topology,
      acc.clients,
      reconcileOptions({ rotateCredentials: true, tokenWaitMs: 20_000 }),
      () => true,
    );
    assert.deepEqual(
      rotated.plan.clusters.flatMap((c) => c.actions.map((a) => `${c.cluster}:${a.type}`)),
      ["west:credentials"],
    );
    assert.ok(rotated.changes?.clusters.every((c) => c.converged));
    const afterRotation = await snapshot();
    const mcKey = `Secret/${MC}/cluster-credentials-east`;
    const lnKey = "Secret/linkerd/cluster-credentials-east";
    assert.equal(afterRotation[mcKey]!.uid, before[mcKey]!.uid, "the multicluster Secret is rewritten in place");
    assert.notEqual(afterRotation[lnKey]!.uid, before[lnKey]!.uid, "the Linkerd-namespace Secret is recreated (§11)");
    for (const m of MIRRORS)
      assert.equal(afterRotation[`Service/${NS}/${m}`]!.uid, before[`Service/${NS}/${m}`]!.uid, `${m} kept its uid`);
    figures.rotation = { plan: ["west:credentials"], writes: rotated.changes?.clusters.map((c) => c.cluster) };
    console.log(`# takeover figures: ${JSON.stringify({ ...figures, importedYaml: undefined, diff: undefined })}`);
    console.log(`# imported topology:\n${text.replace(/^/gm, "#   ")}`);
    console.log(`# diff before apply:\n${diff.out.replace(/^/gm, "#   ")}`);
  } finally {
    stopWatch?.abort();
    await ctl?.stop();
    acc?.close();
    east.close();
    west.close();
    await clusters.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
