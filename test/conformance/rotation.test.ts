/**
 * Credential rotation against Linkerd's own code: the service-mirror controller
 * (restarted when crosslink rolls its Deployment) and the destination
 * controller's ClusterStore (Linkerd's `clusterstore` driver, one endpoint
 * subscription per process). A rotation is triggered as crosslink's clock sees
 * it (`now` past half the TTL). Measured and asserted:
 *
 * - the old token still authenticates after the rotation (overlap), so nothing
 *   fails between the new Secret and the controller's restart;
 * - the restarted controller mirrors an export made after the rotation, and
 *   keeps the mirrors it had (same uid);
 * - recreating the Linkerd-namespace Secret (crosslink's procedure) makes the
 *   ClusterStore drop and re-add the cluster: a subscription opened after it
 *   receives every later endpoint change; one opened before receives none
 *   (Linkerd's limitation, recorded so a change in Linkerd shows up here);
 * - an update in place of that Secret is ignored by the ClusterStore (it keeps
 *   the token it loaded), and crosslink's next apply replaces such a Secret.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { test } from "node:test";
import { applyOnce } from "../engine/support.js";
import { credentialsKubeconfig, summariseKubeconfig } from "../../src/engine/render/credentials.js";
import type { KubeObject } from "../../src/kube/object.js";
import { MirrorController } from "./mirror-controller.js";
import { startLinkerdProcess, type LinkerdProcess } from "./linkerd-process.js";
import { ensureServersCrd } from "./servers-crd.js";
import { startConformanceEnv, timed, writeEndpoints, type ExportSpec } from "./support.js";
import { requireLinkerdTools } from "./tools.js";

const NS = "emojivoto";
const TTL_SECONDS = 3600;
const EXPORTS: ExportSpec[] = [{ services: ["web-svc"] }, { services: ["emoji-svc"], mode: "remote-discovery" }];
const ADD = /^LISTENER Add emojivoto\/emoji-svc-(\S+)-8080 /;

/** HTTP status of a GET with a bearer token (does the API server still accept it?). */
function statusWithToken(server: string, caPem: string | undefined, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      `${server}/api/v1/namespaces/${NS}/services`,
      { headers: { authorization: `Bearer ${token}` }, ...(caPem ? { ca: caPem } : {}), timeout: 10_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
  });
}

const addedIps = (p: LinkerdProcess, from = 0) => p.matching(ADD, from).map((l) => ADD.exec(l)![1]!);

test("rotation: Linkerd's controller and ClusterStore keep working; subscriptions opened after a Secret swap get every change", async (t) => {
  const { tools, skip } = await requireLinkerdTools();
  if (!tools) return t.skip(skip);
  const env = await startConformanceEnv();
  const ctl = new MirrorController({ tools, client: env.west, from: "west", to: "east", dir: env.dir });
  const stores: LinkerdProcess[] = [];
  const eastObjects = env.objects("east");
  const westKubeconfig = env.clusters.clusters.find((c) => c.name === "west")!.kubeconfig;
  const ips: string[] = ["10.42.0.1"];
  const figures: Record<string, unknown> = {};
  const subscribe = async () => {
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
      "emoji-svc",
      "-port",
      "8080",
      "-wait",
      "20s",
      "-hold",
      "10m",
    ]);
    stores.push(p);
    await p.waitLine(/^SUBSCRIBE emojivoto\/emoji-svc:8080 err=<nil>/, 40_000);
    return p;
  };
  const addEndpoint = async (ip: string) => {
    ips.push(ip);
    await writeEndpoints(env.east, eastObjects, NS, "emoji-svc", ips);
  };
  const syncExported = async (services: string[]) => {
    for (const [i, s] of services.entries())
      await writeEndpoints(env.east, eastObjects, NS, s, s === "emoji-svc" ? ips : [`10.42.1.${i + 1}`]);
  };
  const secret = (ns: string) =>
    env.west.get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: "cluster-credentials-east" });
  const tokenOf = (s: KubeObject | undefined) =>
    summariseKubeconfig(Buffer.from(String((s?.data as Record<string, string>).kubeconfig), "base64").toString("utf8"))
      .token!;
  const dump = (e: unknown) => {
    console.error(
      `controller log tail:\n${ctl.history
        .flatMap((p) => p.lines)
        .filter((l) => !/level=debug/.test(l))
        .slice(-30)
        .join("\n")}`,
    );
    for (const s of stores)
      console.error(
        `clusterstore tail:\n${s.lines
          .filter((l) => !/level=debug/.test(l))
          .slice(-15)
          .join("\n")}`,
      );
    throw e;
  };
  /** A subtest body that prints the processes' logs when it fails. */
  const traced = (fn: () => Promise<void>) => async () => {
    try {
      await fn();
    } catch (e) {
      dump(e);
    }
  };
  try {
    // The ClusterStore reads Linkerd's servers CRD in the target; the harness does not seed it.
    figures.serversCrdInstalled = await ensureServersCrd(tools, env.east);
    let topology = await env.topology(EXPORTS, { ttl: `${TTL_SECONDS / 3600}h` });
    const first = await applyOnce(topology, env.acc);
    assert.ok(
      first.changes.clusters.every((c) => c.converged),
      JSON.stringify(first.changes.clusters),
    );
    await syncExported(["web-svc", "emoji-svc"]);
    await ctl.start();
    await ctl.followRollouts();
    const { value: webMirror } = await timed(
      "web-svc-east",
      () => env.west.get({ apiVersion: "v1", kind: "Service", namespace: NS, name: "web-svc-east" }),
      30_000,
    );

    // Before the rotation: a subscription gets the endpoint there and a change.
    const before = await subscribe();
    await addEndpoint("10.42.0.2");
    await before.waitLine(/ip=10\.42\.0\.2 /, 15_000);
    figures.beforeRotation = { oldSubscriptionAdds: addedIps(before).length };
    assert.deepEqual(addedIps(before).sort(), ["10.42.0.1", "10.42.0.2"]);

    // Rotation as crosslink does it, 40 minutes on (under half of the 1h TTL left).
    const oldToken = tokenOf(await secret("linkerd-multicluster"));
    const oldUid = (await secret("linkerd"))!.metadata.uid;
    const mark = before.lines.length;
    const rotated = await applyOnce(topology, env.acc, { now: () => new Date(Date.now() + 40 * 60_000) });
    assert.deepEqual(
      rotated.plan.clusters.flatMap((c) => c.actions.map((a) => a.type)),
      ["credentials"],
    );
    const newToken = tokenOf(await secret("linkerd-multicluster"));
    assert.notEqual(newToken, oldToken);
    assert.equal(tokenOf(await secret("linkerd")), newToken);
    assert.notEqual((await secret("linkerd"))!.metadata.uid, oldUid, "Linkerd-namespace Secret recreated");
    // Overlap: the old token is still accepted, so the controller and the ClusterStore lose nothing before they reload.
    assert.equal(await statusWithToken(env.east.server, env.east.caPem, oldToken), 200);
    assert.equal(await statusWithToken(env.east.server, env.east.caPem, newToken), 200);
    const removed = await before.waitLine(/Removed cluster east from ClusterStore/, 10_000, mark);
    const added = await before.waitLine(/Added cluster east to ClusterStore/, 10_000, mark);
    figures.clusterAbsentMs = before.times[before.lines.indexOf(added)]! - before.times[before.lines.indexOf(removed)]!;

    await t.test(
      "the rolled controller restarts with the new credentials and mirrors a new export",
      traced(async () => {
        await timed("controller restarted by the rollout", async () => ctl.rollouts === 1 && ctl.process, 10_000);
        topology = await env.topology([...EXPORTS, { services: ["voting-svc"] }], { ttl: "1h" });
        const r = await applyOnce(topology, env.acc);
        assert.ok(
          r.changes.clusters.every((c) => c.converged),
          JSON.stringify(r.changes.clusters),
        );
        await syncExported(["web-svc", "emoji-svc", "voting-svc"]);
        const { ms } = await timed(
          "voting-svc-east",
          () => env.west.get({ apiVersion: "v1", kind: "Service", namespace: NS, name: "voting-svc-east" }),
          30_000,
        );
        figures.mirrorAfterRotationMs = ms;
        const web = await env.west.get({ apiVersion: "v1", kind: "Service", namespace: NS, name: "web-svc-east" });
        assert.equal(web?.metadata.uid, webMirror.metadata.uid, "mirrors survive the controller's restart");
        assert.deepEqual(ctl.process!.matching(/Unauthorized/), []);
      }),
    );

    await t.test(
      "after the Secret swap a new subscription gets every endpoint change; the one opened before gets none",
      traced(async () => {
        const after = await subscribe();
        await addEndpoint("10.42.0.3");
        await after.waitLine(/ip=10\.42\.0\.3 /, 15_000);
        assert.deepEqual(addedIps(after).sort(), ["10.42.0.1", "10.42.0.2", "10.42.0.3"]);
        // Give the old subscription the same chance, then record what it got.
        await new Promise((r) => setTimeout(r, 2_000));
        figures.afterRecreate = {
          oldSubscriptionAdds: addedIps(before, mark).length,
          newSubscriptionAdds: addedIps(after).length,
        };
        assert.deepEqual(
          addedIps(before, mark),
          [],
          "Linkerd's ClusterStore no longer feeds a subscription opened before the cluster was re-added",
        );
      }),
    );

    await t.test(
      "an update in place is ignored by the ClusterStore; crosslink replaces such a Secret",
      traced(async () => {
        const after = stores[stores.length - 1]!;
        const live = (await secret("linkerd"))!;
        const foreign = await env.east.createToken(
          "linkerd-multicluster",
          "linkerd-service-mirror-remote-access-west",
          600,
        );
        const kubeconfig = credentialsKubeconfig(
          {
            server: env.east.server,
            name: "east",
            user: "linkerd-service-mirror-remote-access-west",
            ...(env.east.caPem ? { caPem: env.east.caPem } : {}),
          },
          foreign.token,
        );
        const m = after.lines.length;
        await env.west.apply(
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: {
              name: live.metadata.name,
              namespace: "linkerd",
              labels: live.metadata.labels!,
              annotations: live.metadata.annotations!,
            },
            type: live.type,
            data: { kubeconfig: Buffer.from(kubeconfig).toString("base64") },
          } as KubeObject,
          { fieldManager: "someone-else", force: true },
        );
        await addEndpoint("10.42.0.4");
        await after.waitLine(/ip=10\.42\.0\.4 /, 15_000, m);
        assert.deepEqual(after.matching(/Removed cluster|Added cluster/, m), [], "no reload on an update in place");
        figures.afterInPlaceUpdate = { subscriptionAdds: addedIps(after, m).length, reloads: 0 };

        // crosslink's next apply puts its own token back by delete and create, so the ClusterStore reloads it.
        const repaired = await applyOnce(topology, env.acc);
        const actions = repaired.plan.clusters.flatMap((c) => c.actions);
        assert.deepEqual(
          actions.map(
            (a) => `${a.type} ${a.type === "credentials" ? "" : (a.type === "create" ? a.object : a.ref).kind}`,
          ),
          ["replace Secret"],
        );
        assert.notEqual((await secret("linkerd"))!.metadata.uid, live.metadata.uid);
        await after.waitLine(/Added cluster east to ClusterStore/, 10_000, m);
        assert.equal((await applyOnce(topology, env.acc)).writes, 0);
      }),
    );

    figures.controller = { starts: ctl.starts, rollouts: ctl.rollouts };
    t.diagnostic(`rotation figures ${JSON.stringify(figures)}`);
  } catch (e) {
    dump(e);
  } finally {
    await ctl.stop();
    for (const s of stores) await s.stop();
    await env.stop();
  }
});
