/**
 * The pure core of `crosslink check` (facts → results) without a server: a
 * converged two-cluster mesh (planned and carried out by the unit tier's
 * API-server stand-in) is all green; each broken state is named by its code
 * with the right exit status. The expired-token path lives here: the harness
 * API server issues no token shorter than 10 minutes.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { checkExitCode, runChecks } from "../../../src/check/run-checks.js";
import { ACCESS_QUESTIONS } from "../../../src/check/link-checks.js";
import { checkJson, renderCheckHuman } from "../../../src/check/report.js";
import type { CheckFacts, CheckResult, LinkFacts } from "../../../src/check/types.js";
import type { ClusterFacts } from "../../../src/engine/facts.js";
import type { KubeObject } from "../../../src/kube/object.js";
import type { Topology } from "../../../src/topology/types.js";
import { createIssuer, createTrustAnchor } from "../../harness/pki.js";
import { service } from "../../support/facts.js";
import { clusterPlan, converge, eastWest, healthy, NOW, planFacts, testPki, WEB_SPLIT } from "../engine/mesh.js";

const DAY = 86_400_000;

/** The mirror Linkerd's controller creates in west for east's `svc`. */
function mirror(svc: string, target = "east", ns = "emojivoto"): KubeObject {
  return {
    ...service(ns, `${svc}-${target}`, {
      "mirror.linkerd.io/mirrored-service": "true",
      "mirror.linkerd.io/cluster-name": target,
    }),
    metadata: {
      name: `${svc}-${target}`,
      namespace: ns,
      labels: { "mirror.linkerd.io/mirrored-service": "true", "mirror.linkerd.io/cluster-name": target },
      annotations: { "mirror.linkerd.io/remote-svc-fq-name": `${svc}.${ns}.svc.cluster.local` },
    },
  };
}

function endpoints(ns: string, name: string, ready = true): KubeObject {
  const addresses = [{ ip: "198.51.100.4" }];
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name, namespace: ns },
    subsets: [{ ...(ready ? { addresses } : { notReadyAddresses: addresses }), ports: [{ port: 4143 }] }],
  };
}

interface Mesh {
  topology: Topology;
  facts: CheckFacts;
  west: ClusterFacts;
  east: ClusterFacts;
  link: LinkFacts;
}

/** A converged east-west mesh (plus `spec`), mirrored, with a running controller and good credentials. */
async function mesh(spec: Record<string, unknown> = {}): Promise<Mesh> {
  const topology = await eastWest(spec);
  const start = [
    await healthy({ cluster: "east", services: ["emojivoto/web-svc", "emojivoto/voting-svc", "emojivoto/emoji-svc"] }),
    await healthy({ cluster: "west", services: ["emojivoto/web-svc"] }),
  ];
  const [east, west] = converge(topology, start, planFacts(topology, start));
  west!.mirrors = [mirror("web-svc")];
  const plan = planFacts(topology, [east!, west!]);
  const linkObject = west!.owned.find((o) => o.kind === "Link")!;
  linkObject.status = {
    mirrorServices: [
      {
        controllerName: "linkerd.io/service-mirror",
        remoteRef: { group: "", kind: "Service", name: "web-svc", namespace: "emojivoto" },
        conditions: [{ type: "Mirrored", status: "True", reason: "Mirrored", message: "", lastTransitionTime: "x" }],
      },
    ],
  };
  const link: LinkFacts = {
    link: topology.links[0]!,
    linkObject,
    lease: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "service-mirror-write-east", namespace: "linkerd-multicluster" },
      spec: {
        holderIdentity: "controller-east-abc",
        leaseDurationSeconds: 30,
        renewTime: new Date(NOW.getTime() - 2000).toISOString(),
      },
    },
    credentials: {
      secrets: [
        { namespace: "linkerd-multicluster", name: "cluster-credentials-east", present: true },
        { namespace: "linkerd", name: "cluster-credentials-east", present: true },
      ],
      hasToken: true,
      copiesAgree: true,
      tokenSecondsLeft: 20 * 3600,
      server: "https://east.test:6443",
      probe: {
        authenticated: true,
        access: ACCESS_QUESTIONS.map((q) => ({ ...q, allowed: q.resource !== "secrets" })),
      },
    },
  };
  const facts: CheckFacts = {
    topology,
    now: NOW,
    observations: [
      { cluster: "east", ok: true, facts: east! },
      { cluster: "west", ok: true, facts: west! },
    ],
    plan,
    endpoints: new Map([["west", new Map([["emojivoto/web-svc-east", endpoints("emojivoto", "web-svc-east")]])]]),
    links: new Map([["west→east", link]]),
    readErrors: new Map(),
  };
  return { topology, facts, west: west!, east: east!, link };
}

const problems = (r: CheckResult[]) => r.filter((x) => x.status !== "ok").map((x) => `${x.category} ${x.code}`);

test("a converged, mirrored mesh with a live controller: every check passes, exit 0", async () => {
  const m = await mesh();
  assert.deepEqual(clusterPlan(m.facts.plan, "west").actions, [], "the plan is empty");
  const r = runChecks(m.facts);
  assert.deepEqual(problems(r), []);
  assert.equal(checkExitCode(r), 0);
  assert.ok(r.length >= 20, `${r.length} checks`);
});

test("token time: expired fails (XL916), under a quarter of the TTL warns (XL917), none is a long-lived token", async () => {
  const m = await mesh();
  m.link.credentials.tokenSecondsLeft = -90;
  let r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["link west→east XL916"]);
  assert.match(r.find((x) => x.code === "XL916")!.detail!, /expired 1m ago/);
  assert.equal(checkExitCode(r), 1);
  m.link.credentials.tokenSecondsLeft = 3 * 3600; // default TTL 24h: 6h is a quarter
  r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["link west→east XL917"]);
  assert.equal(checkExitCode(r), 2);
  m.link.credentials.tokenSecondsLeft = null;
  assert.deepEqual(problems(runChecks(m.facts)), []);
});

test("credentials: missing Secret (XL912), rejected token (XL913, access not asked), missing rights (XL914), Secrets readable (XL915)", async () => {
  const m = await mesh();
  const c = m.link.credentials;
  c.secrets[1]!.present = false;
  assert.deepEqual(problems(runChecks(m.facts)), ["link west→east XL912"]);
  c.secrets[1]!.present = true;
  c.copiesAgree = false;
  assert.deepEqual(problems(runChecks(m.facts)), ["link west→east XL918"]);
  c.copiesAgree = true;
  c.probe = { authenticated: false, error: "east answered 401 Unauthorized: the token is not accepted" };
  const r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["link west→east XL913"]);
  assert.ok(!r.some((x) => /may list|may not read/.test(x.title)), "no access verdict without authentication");
  c.probe = {
    authenticated: true,
    access: ACCESS_QUESTIONS.map((q) => ({ ...q, allowed: !(q.verb === "watch" && q.resource === "endpointslices") })),
  };
  const r2 = runChecks(m.facts);
  assert.deepEqual(problems(r2), ["link west→east XL914", "link west→east XL915"]);
  assert.match(r2.find((x) => x.code === "XL914")!.detail!, /denied: watch endpointslices\.discovery\.k8s\.io/);
  assert.match(r2.find((x) => x.code === "XL915")!.detail!, /allowed: get secrets, list secrets in east/);
});

test("controller: stale, released or missing Lease (XL923); Link status without the export (XL924)", async () => {
  const m = await mesh();
  const spec = m.link.lease!.spec as Record<string, unknown>;
  spec.renewTime = new Date(NOW.getTime() - 120_000).toISOString();
  const r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["link west→east XL923"]);
  assert.match(r.find((x) => x.code === "XL923")!.detail!, /last renewed 2m ago by controller-east-abc/);
  spec.holderIdentity = "";
  assert.deepEqual(problems(runChecks(m.facts)), ["link west→east XL923"]);
  delete m.link.lease;
  assert.deepEqual(problems(runChecks(m.facts)), ["link west→east XL923"]);
  const m2 = await mesh();
  (m2.link.linkObject!.status as { mirrorServices: unknown[] }).mirrorServices = [];
  assert.deepEqual(problems(runChecks(m2.facts)), ["link west→east XL924"]);
});

test("a Link or controller Deployment edited in the cluster: XL911 / XL922 show the plan's change", async () => {
  const m = await mesh();
  const live = m.west.owned.find((o) => o.kind === "Link")!;
  (live.spec as Record<string, unknown>).gatewayPort = "9999";
  const dep = m.west.owned.find((o) => o.kind === "Deployment")!;
  (dep.spec as { replicas?: number }).replicas = 3;
  m.facts.plan = planFacts(m.topology, [m.east, m.west]);
  const r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["link west→east XL911", "link west→east XL922"]);
  assert.match(
    r.find((x) => x.code === "XL911")!.detail!,
    /~ Link linkerd-multicluster\/east[\s\S]*spec\.gatewayPort: "9999" → "4143"/,
  );
  m.west.owned = m.west.owned.filter((o) => o !== dep);
  m.facts.plan = planFacts(m.topology, [m.east, m.west]);
  assert.ok(problems(runChecks(m.facts)).includes("link west→east XL921"));
});

test("mirrors: a missing one (XL931), one without ready endpoints (XL932), orphans of a gone export or link (XL933)", async () => {
  const m = await mesh();
  m.west.mirrors = [];
  let r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["link west→east XL931"]);
  assert.match(
    r.find((x) => x.code === "XL931")!.detail!,
    /emojivoto\/web-svc-east \(gateway export of emojivoto\/web-svc\)/,
  );
  m.west.mirrors = [mirror("web-svc"), mirror("voting-svc"), mirror("web-svc", "north")];
  (m.facts.endpoints.get("west") as Map<string, KubeObject>).set(
    "emojivoto/web-svc-east",
    endpoints("emojivoto", "web-svc-east", false),
  );
  r = runChecks(m.facts);
  assert.deepEqual(
    problems(r),
    ["cluster west XL933", "link west→east XL932"].sort((a, b) => (a < b ? -1 : 1)),
  );
  const orphan = r.find((x) => x.code === "XL933")!.detail!;
  assert.match(orphan, /emojivoto\/voting-svc-east: emojivoto\/voting-svc is not exported by east/);
  assert.match(orphan, /emojivoto\/web-svc-north: no link west→north/);
});

test("remote-discovery and federated exports: mirrors named as Linkerd names them, endpoints read in the target", async () => {
  const m = await mesh({
    exports: [
      { cluster: "east", namespace: "emojivoto", services: ["web-svc"] },
      { cluster: "east", namespace: "emojivoto", services: ["emoji-svc"], mode: "remote-discovery" },
      { cluster: "east", namespace: "emojivoto", services: ["voting-svc"], mode: "federated" },
    ],
  });
  const federated: KubeObject = {
    ...service("emojivoto", "voting-svc-federated"),
    metadata: {
      name: "voting-svc-federated",
      namespace: "emojivoto",
      labels: { "mirror.linkerd.io/mirrored-service": "true" },
      annotations: { "multicluster.linkerd.io/remote-discovery": "voting-svc@east" },
    },
  };
  const remote = mirror("emoji-svc");
  remote.metadata.labels!["multicluster.linkerd.io/remote-service"] = "emoji-svc";
  m.west.mirrors = [mirror("web-svc"), remote, federated];
  const entry = (name: string) => ({
    controllerName: "linkerd.io/service-mirror",
    remoteRef: { group: "", kind: "Service", name, namespace: "emojivoto" },
    conditions: [{ type: "Mirrored", status: "True", reason: "Mirrored", message: "", lastTransitionTime: "x" }],
  });
  m.link.linkObject!.status = {
    mirrorServices: [entry("web-svc"), entry("emoji-svc")],
    federatedServices: [entry("voting-svc")],
  };
  const eastEndpoints = new Map([
    ["emojivoto/emoji-svc", endpoints("emojivoto", "emoji-svc")],
    ["emojivoto/voting-svc", endpoints("emojivoto", "voting-svc")],
  ]);
  (m.facts.endpoints as Map<string, Map<string, KubeObject>>).set("east", eastEndpoints);
  m.facts.plan = planFacts(m.topology, [m.east, m.west]);
  let r = runChecks(m.facts);
  assert.deepEqual(problems(r), []);
  assert.match(r.find((x) => x.title === "every mirror has ready endpoints")!.detail!, /3 mirror\(s\)/);
  eastEndpoints.delete("emojivoto/voting-svc");
  federated.metadata.annotations!["multicluster.linkerd.io/remote-discovery"] = "voting-svc@north";
  r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["cluster west XL933", "link west→east XL931"]);
  assert.match(r.find((x) => x.code === "XL931")!.detail!, /voting-svc-federated does not name member voting-svc@east/);
  federated.metadata.annotations!["multicluster.linkerd.io/remote-discovery"] = "voting-svc@east";
  r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["link west→east XL932"]);
  assert.match(r.find((x) => x.code === "XL932")!.detail!, /emojivoto\/voting-svc in east: no addresses/);
});

test("a split whose remote backend has no mirror: XL951", async () => {
  const m = await mesh({
    splits: [WEB_SPLIT],
  });
  assert.deepEqual(problems(runChecks(m.facts)), []);
  m.west.mirrors = [];
  assert.ok(problems(runChecks(m.facts)).includes("splits XL951"));
});

test("trust: an extra anchor in one cluster (XL942), an issuer of another anchor (XL945), expiring and expired certificates (XL943, XL946, XL944, XL947), no bundle (XL941)", async () => {
  const { anchor, other } = await testPki();
  const m = await mesh();
  m.east.linkerd!.anchorsPem = `${anchor.certPem}${other.certPem}`;
  m.east.trustRoots!.pem = m.east.linkerd!.anchorsPem;
  let r = runChecks(m.facts);
  assert.deepEqual(problems(r), ["link west→east XL942"]);
  assert.match(r.find((x) => x.code === "XL942")!.detail!, /west trusts 1 anchor\(s\), east 2\nonly in east: /);

  const m2 = await mesh();
  m2.east.issuerCertPem = (await createIssuer(other, { notBefore: new Date(NOW.getTime() - DAY) })).certPem;
  assert.deepEqual(problems(runChecks(m2.facts)), ["cluster east XL945"]);

  const short = await createTrustAnchor({ notBefore: new Date(NOW.getTime() - DAY), days: 31 });
  const shortIssuer = await createIssuer(short, { notBefore: new Date(NOW.getTime() - DAY), days: 11 });
  const m3 = await mesh();
  for (const f of [m3.east, m3.west]) {
    f.linkerd!.anchorsPem = short.certPem;
    f.trustRoots!.pem = short.certPem;
    f.issuerCertPem = shortIssuer.certPem;
  }
  r = runChecks(m3.facts);
  assert.deepEqual(problems(r), [
    "cluster east XL943",
    "cluster east XL946",
    "cluster west XL943",
    "cluster west XL946",
  ]);
  assert.match(r.find((x) => x.code === "XL943")!.detail!, /30 day\(s\) left/);
  assert.equal(checkExitCode(r), 2);
  m3.facts.now = new Date(NOW.getTime() + 40 * DAY);
  m3.link.lease!.spec = { ...(m3.link.lease!.spec as object), renewTime: m3.facts.now.toISOString() };
  r = runChecks(m3.facts);
  assert.deepEqual(
    problems(r).filter((p) => p.startsWith("cluster east")),
    ["cluster east XL944", "cluster east XL947"],
  );

  const m4 = await mesh();
  m4.east.linkerd!.anchorsPem = "";
  delete m4.east.trustRoots;
  assert.deepEqual(problems(runChecks(m4.facts)), ["cluster east XL941", "link west→east XL942"]);
});

test("an unreadable cluster: one XL901, its own checks skipped, exit 1", async () => {
  const m = await mesh();
  m.facts.observations = [
    { cluster: "east", ok: false, error: "connect ECONNREFUSED 127.0.0.1:1" },
    m.facts.observations[1]!,
  ];
  const r = runChecks(m.facts);
  assert.deepEqual(
    r.filter((x) => x.category === "cluster east").map((x) => x.code),
    ["XL901"],
  );
  assert.equal(checkExitCode(r), 1);
});

test("reports: ✓ ‼ × per check with code and hint, JSON in linkerd check's shape; no credential in either", async () => {
  const m = await mesh();
  m.link.credentials.tokenSecondsLeft = 60;
  m.west.mirrors = [];
  const r = runChecks(m.facts);
  const human = renderCheckHuman("mesh", r, { ms: 1234, requests: { east: { crosslink: 20, credentials: 8 } } });
  assert.match(human, /^link west→east\n-{14}\n/m);
  assert.match(human, /^× every export of east has its mirror in west\n {4}1 of 1 missing:/m);
  assert.match(human, /^‼ the token has time left\n {4}1m left of a 24h TTL/m);
  assert.match(human, /^ {4}XL931 hint: /m);
  assert.match(
    human,
    /Status check results are ×: \d+ checks, \d+ ✓, 1 ‼, 1 ×\n1\.2 s; requests: east 20 \+ 8 with link credentials\n$/,
  );
  const json = checkJson("mesh", r) as {
    success: boolean;
    categories: { categoryName: string; checks: { result: string; code?: string }[] }[];
  };
  assert.equal(json.success, false);
  const link = json.categories.find((c) => c.categoryName === "link west→east")!;
  assert.deepEqual(
    link.checks.filter((c) => c.result !== "success").map((c) => `${c.result} ${c.code}`),
    ["warning XL917", "error XL931"],
  );
  const text = human + JSON.stringify(json) + JSON.stringify(m.facts.links.get("west→east"));
  assert.doesNotMatch(text, /token:|eyJ|kubeconfig:/, "facts and reports hold no token");
});
