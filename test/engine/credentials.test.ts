/**
 * Link credentials against real API servers: bounded tokens rotate at half
 * their TTL (Linkerd-namespace Secret recreated, managed controller rolled),
 * and `service-account-token` mode uses the token controller's Secret.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ROTATED_AT } from "../../src/engine/apply.js";
import { summariseKubeconfig, tokenSecondsLeft } from "../../src/engine/render/credentials.js";
import type { KubeObject } from "../../src/kube/object.js";
import { applyOnce, exampleTopology, useClusters } from "./support.js";

const fx = useClusters(["east", "west"], "east-west");

const secret = (ns: string) =>
  fx.acc.clients
    .get("west")!
    .get({ apiVersion: "v1", kind: "Secret", namespace: ns, name: "cluster-credentials-east" });
const token = (s: KubeObject | undefined) =>
  summariseKubeconfig(Buffer.from(String((s!.data as Record<string, string>).kubeconfig), "base64").toString("utf8"))
    .token!;

test("a bounded token is renewed once less than half its TTL is left", async () => {
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "links", 0, "credentials"], { mode: "token-request", ttl: "2h" }),
  );
  const first = await applyOnce(topology, fx.acc);
  assert.ok(first.changes.clusters.every((c) => c.converged));
  const t1 = token(await secret("linkerd-multicluster"));
  const left = tokenSecondsLeft(t1, new Date())!;
  assert.ok(left > 3500 && left <= 7200, `token lifetime ${left}s`);
  const ctlUid = (await secret("linkerd"))!.metadata.uid;

  // 50 minutes later: more than half left, nothing to do.
  const early = await applyOnce(topology, fx.acc, { now: () => new Date(Date.now() + 50 * 60_000) });
  assert.equal(early.writes, 0);

  // 70 minutes later: under half left → one credentials action: token, both Secrets, controller rolled.
  const late = await applyOnce(topology, fx.acc, { now: () => new Date(Date.now() + 70 * 60_000) });
  const actions = late.plan.clusters.flatMap((c) => c.actions);
  assert.deepEqual(
    actions.map((a) => a.type),
    ["credentials"],
  );
  assert.match(actions[0]!.reason, /under half its TTL/);
  const t2 = token(await secret("linkerd-multicluster"));
  assert.notEqual(t2, t1);
  assert.equal(token(await secret("linkerd")), t2);
  assert.notEqual(
    (await secret("linkerd"))!.metadata.uid,
    ctlUid,
    "Linkerd-namespace Secret recreated (destination handles only add/delete)",
  );
  const dep = await fx.acc.clients
    .get("west")!
    .get({ apiVersion: "apps/v1", kind: "Deployment", namespace: "linkerd-multicluster", name: "controller-east" });
  const ann = (dep!.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata
    .annotations;
  assert.ok(ann[ROTATED_AT], "controller pod template annotated so it restarts");
  // And the roll does not make the next plan noisy.
  assert.equal((await applyOnce(topology, fx.acc)).writes, 0);
});

test("a local clock 90 min ahead of the API servers keeps a good token (judged by the target's clock) and says so (XL609)", async () => {
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "links", 0, "credentials"], { mode: "token-request", ttl: "2h" }),
  );
  assert.ok((await applyOnce(topology, fx.acc)).changes.clusters.every((c) => c.converged));
  const t1 = token(await secret("linkerd-multicluster"));
  // This process's clock jumps 90 min ahead: by it the fresh 2 h token has 30 min left, under half its TTL.
  const realNow = Date.now;
  Date.now = () => realNow() + 90 * 60_000;
  try {
    // Before any new answer: the server's last Date header, moved on by monotonic time, shows the step.
    const offset = fx.acc.clients.get("east")!.clockOffsetMs()!;
    assert.ok(Math.abs(offset + 90 * 60_000) < 2_000, `offset ${offset} ms, about -90 min`);
    const skewed = await applyOnce(topology, fx.acc, { now: () => new Date(Date.now()) });
    const west = skewed.plan.clusters.find((c) => c.cluster === "west")!;
    assert.deepEqual(
      west.actions.map((a) => a.type),
      [],
      "nothing renewed: east's Date header shows the token has about 2 h left",
    );
    assert.equal(skewed.writes, 0);
    const xl609 = west.findings.find((f) => f.code === "XL609");
    assert.match(xl609?.message ?? JSON.stringify(west.findings), /clock is 1h30m ahead of east's API server/);
  } finally {
    Date.now = realNow;
  }
  assert.equal(token(await secret("linkerd-multicluster")), t1);
});

test("service-account-token mode uses the token controller's Secret", async () => {
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "links", 0, "credentials"], { mode: "service-account-token" }),
  );
  const r = await applyOnce(topology, fx.acc);
  assert.ok(
    r.changes.clusters.every((c) => c.converged),
    JSON.stringify(r.changes.clusters),
  );
  const tokenSecret = await fx.acc.clients.get("east")!.get({
    apiVersion: "v1",
    kind: "Secret",
    namespace: "linkerd-multicluster",
    name: "linkerd-service-mirror-remote-access-west-token",
  });
  assert.equal(tokenSecret!.type, "kubernetes.io/service-account-token");
  const fromSecret = Buffer.from((tokenSecret!.data as Record<string, string>).token!, "base64").toString("utf8");
  assert.equal(token(await secret("linkerd-multicluster")), fromSecret);
  assert.equal(tokenSecondsLeft(fromSecret, new Date()), undefined, "a long-lived token has no expiry");
  assert.equal((await applyOnce(topology, fx.acc)).writes, 0);
});

test("with an external controller, a rotation says the controller must be restarted", async () => {
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem, (d) => {
    d.setIn(["spec", "links", 0, "controller"], "external");
    d.setIn(["spec", "links", 0, "credentials"], { mode: "token-request", ttl: "2h" });
  });
  const r = await applyOnce(topology, fx.acc, { now: () => new Date(Date.now() + 3 * 3600_000) });
  const west = r.plan.clusters.find((c) => c.cluster === "west")!;
  assert.ok(west.actions.some((a) => a.type === "credentials"));
  assert.ok(
    west.findings.some((f) => f.code === "XL607"),
    JSON.stringify(west.findings),
  );
  assert.ok(
    west.actions.some((a) => a.type === "delete" && a.ref.kind === "Deployment"),
    "the managed controller is pruned when the link turns external",
  );
});

test("the Linkerd-namespace Secret is only ever recreated: after a lost multicluster Secret, and when it drifted", async () => {
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem);
  assert.ok((await applyOnce(topology, fx.acc)).changes.clusters.every((c) => c.converged));
  const west = fx.acc.clients.get("west")!;
  const uid0 = (await secret("linkerd"))!.metadata.uid;

  // Only the multicluster-namespace Secret lost: reissued, and the destination controller's Secret recreated with the same token.
  await west.delete({
    apiVersion: "v1",
    kind: "Secret",
    namespace: "linkerd-multicluster",
    name: "cluster-credentials-east",
  });
  const reissued = await applyOnce(topology, fx.acc);
  const issue = reissued.plan.clusters.flatMap((c) => c.actions).find((a) => a.type === "credentials");
  assert.equal(issue?.type === "credentials" && issue.issue.op, "rotate");
  const uid1 = (await secret("linkerd"))!.metadata.uid;
  assert.notEqual(uid1, uid0);
  assert.equal(token(await secret("linkerd")), token(await secret("linkerd-multicluster")));

  // Someone else changes it in place (which the destination controller ignores): crosslink replaces it.
  await west.apply(
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "cluster-credentials-east",
        namespace: "linkerd",
        annotations: { "multicluster.linkerd.io/cluster-domain": "other.local" },
      },
    },
    { fieldManager: "someone-else", force: true },
  );
  const repaired = await applyOnce(topology, fx.acc);
  const actions = repaired.plan.clusters.flatMap((c) => c.actions);
  assert.deepEqual(
    actions.map((a) => a.type),
    ["replace"],
  );
  assert.match(actions[0]!.reason, /destination controller reads this Secret only when it is created/);
  const after = (await secret("linkerd"))!;
  assert.notEqual(after.metadata.uid, uid1);
  assert.equal(after.metadata.annotations?.["multicluster.linkerd.io/cluster-domain"], "cluster.local");
  assert.equal((await applyOnce(topology, fx.acc)).writes, 0);
});
