/**
 * Linkerd's own service-mirror controller (edge-26.8.3, run as a process with
 * the credentials of crosslink's controller ServiceAccount) against what
 * crosslink writes: every export mode is mirrored with the labels, annotations
 * and Endpoints Linkerd writes; the Link status the controller writes is
 * neither reverted nor reported as drift; unexport and unlink remove the mirrors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { applyOnce } from "../engine/support.js";
import type { KubeObject } from "../../src/kube/object.js";
import type { ClusterClient } from "../../src/kube/port.js";
import { startLinkerdProcess } from "./linkerd-process.js";
import { MirrorController } from "./mirror-controller.js";
import { ensureServersCrd } from "./servers-crd.js";
import { readObject, startConformanceEnv, timed, writeEndpoints, type ExportSpec } from "./support.js";
import type { KubernetesObject, KubernetesObjectApi } from "@kubernetes/client-node";
import { requireLinkerdTools } from "./tools.js";

const NS = "emojivoto";
const ALL: ExportSpec[] = [
  { services: ["web-svc"] },
  { services: ["emoji-svc"], mode: "remote-discovery" },
  { services: ["voting-svc"], mode: "federated" },
];

type Meta = KubeObject["metadata"];
const svc = (c: ClusterClient, name: string) => c.get({ apiVersion: "v1", kind: "Service", namespace: NS, name });
const eps = (o: KubernetesObjectApi, name: string) =>
  readObject(o, "v1", "Endpoints", NS, name) as Promise<(KubernetesObject & { subsets?: unknown }) | undefined>;
const withoutMirrorPrefix = (labels: Meta["labels"]) =>
  Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !k.startsWith("mirror.linkerd.io")));
const ports = (s: KubeObject) =>
  ((s.spec as { ports?: { name?: string; port: number; protocol?: string }[] }).ports ?? []).map((p) => ({
    name: p.name,
    port: p.port,
    protocol: p.protocol,
  }));

test("Linkerd's service-mirror controller mirrors crosslink's exports, leaves its status alone and drops mirrors on unexport and unlink", async (t) => {
  const { tools, skip } = await requireLinkerdTools();
  if (!tools) return t.skip(skip);
  const env = await startConformanceEnv();
  const ctl = new MirrorController({ tools, client: env.west, from: "west", to: "east", dir: env.dir });
  const figures: Record<string, number> = {};
  /** A subtest body that prints the controller's log when it fails. */
  const traced = (fn: () => Promise<void>) => async () => {
    try {
      await fn();
    } catch (e) {
      console.error(
        `controller log tail:\n${ctl.history
          .flatMap((p) => p.lines)
          .filter((l) => !/OnLocalNamespaceAdded|OnAddCalled/.test(l))
          .slice(-60)
          .join("\n")}`,
      );
      throw e;
    }
  };
  const eastObjects = env.objects("east");
  const westObjects = env.objects("west");
  const westKubeconfig = env.clusters.clusters.find((c) => c.name === "west")!.kubeconfig;
  /** The endpoints Linkerd's destination ClusterStore (driver) resolves for an exported Service of east, read through west's credentials Secret. */
  const discovered = async (service: string, port: number) => {
    const p = startLinkerdProcess(tools.clusterstore, [
      "-kubeconfig",
      westKubeconfig,
      "-namespace",
      "linkerd",
      "-cluster",
      "east",
      "-svc-namespace",
      NS,
      "-svc",
      service,
      "-port",
      String(port),
      "-wait",
      "20s",
    ]);
    const code = await p.exited;
    assert.equal(code, 0, p.lines.slice(-10).join("\n"));
    return p
      .matching(/^LISTENER Add /)
      .map((l) => /ip=(\S+)/.exec(l)![1])
      .sort();
  };
  try {
    // The harness has no endpoints controller: write what it would (Endpoints carry the Service's labels).
    const syncEndpoints = async () => {
      await writeEndpoints(env.east, eastObjects, NS, "web-svc", ["10.42.0.11"]);
      await writeEndpoints(env.east, eastObjects, NS, "emoji-svc", ["10.42.0.12"]);
      await writeEndpoints(env.east, eastObjects, NS, "voting-svc", ["10.42.0.13"]);
    };

    // Link first, controller running, then the exports: the time to mirror is the controller's.
    // The destination's ClusterStore reads Linkerd's servers CRD in the target; the harness does not seed it.
    figures.serversCrdInstalled = Number(await ensureServersCrd(tools, env.east));
    const linked = await applyOnce(await env.topology([]), env.acc);
    assert.ok(
      linked.changes.clusters.every((c) => c.converged),
      JSON.stringify(linked.changes.clusters),
    );
    await ctl.start();
    await ctl.followRollouts();
    await ctl.process!.waitLine(/Starting|started|cluster watcher|leader/i, 30_000);

    // Times to mirror are counted from here: crosslink's apply, the Endpoints writes, and the controller's work.
    const exportStart = Date.now();
    const exported = await applyOnce(await env.topology(ALL), env.acc);
    assert.ok(exported.changes.clusters.every((c) => c.converged));
    await syncEndpoints();
    // When each mirror first appears (polled every 50 ms, for up to 30 s).
    const firstSeen: Record<string, number> = {};
    for (
      const deadline = Date.now() + 30_000;
      Object.keys(firstSeen).length < 3 && Date.now() < deadline;
      await new Promise((r) => setTimeout(r, 50))
    ) {
      for (const name of ["web-svc-east", "emoji-svc-east", "voting-svc-federated"])
        if (!firstSeen[name] && (await svc(env.west, name))) firstSeen[name] = Date.now() - exportStart;
    }
    figures.gatewayMirrorMs = firstSeen["web-svc-east"] ?? -1;
    figures.remoteDiscoveryMirrorMs = firstSeen["emoji-svc-east"] ?? -1;
    figures.federatedMirrorMs = firstSeen["voting-svc-federated"] ?? -1;
    const link = (await env.west.get({
      apiVersion: "multicluster.linkerd.io/v1alpha3",
      kind: "Link",
      namespace: "linkerd-multicluster",
      name: "east",
    }))!;
    const spec = link.spec as { gatewayAddress: string; gatewayPort: string; gatewayIdentity: string };

    await t.test(
      "gateway mode: <svc>-east with the remote labels, fq-name annotation and Endpoints at the gateway",
      traced(async () => {
        const { value: mirror } = await timed("web-svc-east", () => svc(env.west, "web-svc-east"), 30_000);
        const remote = (await svc(env.east, "web-svc"))!;
        assert.deepEqual(mirror.metadata.labels, {
          ...withoutMirrorPrefix(remote.metadata.labels),
          "mirror.linkerd.io/mirrored-service": "true",
          "mirror.linkerd.io/cluster-name": "east",
        });
        assert.equal(
          mirror.metadata.annotations?.["mirror.linkerd.io/remote-svc-fq-name"],
          "web-svc.emojivoto.svc.cluster.local",
        );
        assert.ok(mirror.metadata.annotations?.["mirror.linkerd.io/remote-resource-version"]);
        assert.deepEqual(ports(mirror), ports(remote));
        assert.equal((mirror.spec as { selector?: unknown }).selector, undefined);
        const { value: e } = await timed(
          "Endpoints web-svc-east with addresses",
          async () => {
            const found = await eps(westObjects, "web-svc-east");
            return Array.isArray(found?.subsets) && found.subsets.length > 0 && found;
          },
          30_000,
        );
        assert.ok(e.metadata);
        const subsets = e.subsets as {
          addresses?: { ip: string }[];
          notReadyAddresses?: { ip: string }[];
          ports: { port: number }[];
        }[];
        const ips = subsets
          .flatMap((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].map((a) => a.ip))
          .sort();
        assert.deepEqual(ips, spec.gatewayAddress.split(",").sort());
        assert.ok(
          subsets.every((s) => s.ports.every((p) => p.port === Number(spec.gatewayPort))),
          JSON.stringify(subsets),
        );
        assert.equal(e.metadata!.annotations?.["mirror.linkerd.io/remote-gateway-identity"], spec.gatewayIdentity);
        assert.equal(
          e.metadata!.annotations?.["mirror.linkerd.io/remote-svc-fq-name"],
          "web-svc.emojivoto.svc.cluster.local",
        );
      }),
    );

    await t.test(
      "remote-discovery mode: <svc>-east labelled for the destination controller, no Endpoints",
      traced(async () => {
        const { value: mirror } = await timed("emoji-svc-east", () => svc(env.west, "emoji-svc-east"), 30_000);
        const labels = mirror.metadata.labels ?? {};
        assert.equal(labels["multicluster.linkerd.io/remote-discovery"], "east");
        assert.equal(labels["multicluster.linkerd.io/remote-service"], "emoji-svc");
        assert.equal(labels["mirror.linkerd.io/mirrored-service"], "true");
        assert.equal(labels["mirror.linkerd.io/cluster-name"], "east");
        assert.equal(await eps(westObjects, "emoji-svc-east"), undefined);
        assert.deepEqual(
          await discovered("emoji-svc", 8080),
          ["10.42.0.12"],
          "the destination resolves it to east's endpoints",
        );
      }),
    );

    await t.test(
      "federated mode: one <svc>-federated naming its remote member",
      traced(async () => {
        const { value: mirror } = await timed(
          "voting-svc-federated",
          () => svc(env.west, "voting-svc-federated"),
          30_000,
        );
        assert.equal(mirror.metadata.annotations?.["multicluster.linkerd.io/remote-discovery"], "voting-svc@east");
        assert.equal(mirror.metadata.labels?.["mirror.linkerd.io/mirrored-service"], "true");
        assert.equal(mirror.metadata.labels?.["mirror.linkerd.io/cluster-name"], undefined);
        assert.deepEqual(
          await discovered("voting-svc", 8080),
          ["10.42.0.13"],
          "the destination resolves the member to east's endpoints",
        );
      }),
    );

    await t.test(
      "the Link status the controller writes is no drift: diff exits 0, apply writes nothing, status stays",
      traced(async () => {
        const { value: status } = await timed(
          "Link status naming every export",
          async () => {
            const l = await env.west.get({
              apiVersion: "multicluster.linkerd.io/v1alpha3",
              kind: "Link",
              namespace: "linkerd-multicluster",
              name: "east",
            });
            const s = l?.status as
              | {
                  mirrorServices?: { remoteRef: { name: string } }[];
                  federatedServices?: { remoteRef: { name: string } }[];
                }
              | undefined;
            const names = [...(s?.mirrorServices ?? []), ...(s?.federatedServices ?? [])]
              .map((m) => m.remoteRef.name)
              .sort();
            return JSON.stringify(names) === JSON.stringify(["emoji-svc", "voting-svc", "web-svc"]) && l;
          },
          30_000,
        );
        const diff = await env.cli("diff");
        assert.equal(diff.code, 0, diff.out);
        const again = await applyOnce(await env.topology(ALL), env.acc);
        assert.equal(again.writes, 0);
        const after = (await env.west.get({
          apiVersion: "multicluster.linkerd.io/v1alpha3",
          kind: "Link",
          namespace: "linkerd-multicluster",
          name: "east",
        }))!;
        assert.deepEqual(after.status, status.status);
      }),
    );

    await t.test(
      "unexport: the controller deletes every mirror",
      traced(async () => {
        // Dropping all three exports at once is a mass removal to the prune guard (XL641): allowed here on purpose.
        const r = await applyOnce(await env.topology([]), env.acc, { allowMassPrune: true });
        assert.ok(
          r.changes.clusters.every((c) => c.converged),
          JSON.stringify(
            r.changes.clusters.map((c) => ({
              cluster: c.cluster,
              error: c.error,
              failed: c.results.filter((x) => x.status !== "done").map((x) => x.error),
            })),
          ),
        );
        await syncEndpoints();
        const { ms } = await timed(
          "mirrors gone",
          async () =>
            !(await svc(env.west, "web-svc-east")) &&
            !(await eps(westObjects, "web-svc-east")) &&
            !(await svc(env.west, "emoji-svc-east")) &&
            !(await svc(env.west, "voting-svc-federated")),
          30_000,
        );
        figures.unexportMs = ms;
      }),
    );

    await t.test(
      "unlink: the controller goes, and no mirror of east is left",
      traced(async () => {
        await applyOnce(await env.topology(ALL), env.acc);
        await syncEndpoints();
        await timed(
          "mirrors back",
          async () =>
            (await svc(env.west, "web-svc-east")) &&
            (await svc(env.west, "emoji-svc-east")) &&
            (await svc(env.west, "voting-svc-federated")),
          30_000,
        );
        const r = await applyOnce(await env.topology(ALL, { link: false }), env.acc);
        assert.ok(
          r.changes.clusters.every((c) => c.converged),
          JSON.stringify(r.changes.clusters),
        );
        await timed("controller stopped with its Deployment", async () => ctl.process === undefined, 10_000);
        const left = await env.west.list("v1", "Service", {
          namespace: NS,
          labelSelector: "mirror.linkerd.io/mirrored-service=true",
        });
        assert.deepEqual(
          left.map((s) => s.metadata.name),
          [],
        );
        assert.equal(
          await env.west.get({
            apiVersion: "multicluster.linkerd.io/v1alpha3",
            kind: "Link",
            namespace: "linkerd-multicluster",
            name: "east",
          }),
          undefined,
        );
      }),
    );
    assert.equal(ctl.rollouts, 0, "no pod-template change, no restart");
    t.diagnostic(`figures ${JSON.stringify({ ...figures, controllerStarts: ctl.starts })}`);
  } catch (e) {
    console.error(
      `controller log tail:\n${ctl.history
        .flatMap((p) => p.lines)
        .slice(-40)
        .join("\n")}`,
    );
    throw e;
  } finally {
    await ctl.stop();
    await env.stop();
  }
});
