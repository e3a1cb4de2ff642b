/**
 * import's pure core (no server): live objects → topology document, with a
 * note wherever it guessed; the document validates with the project's own
 * validator (schema, rules, anchors).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { buildTopology, ImportError } from "../../../src/import/build.js";
import { topologyYaml } from "../../../src/import/document.js";
import type { LiveCluster } from "../../../src/import/live.js";
import type { KubeObject } from "../../../src/kube/object.js";
import { loadTopology } from "../../../src/topology/index.js";
import { createTrustAnchor } from "../../harness/pki.js";

const ANCHOR = (await createTrustAnchor()).certPem;
const OTHER = (await createTrustAnchor({ commonName: "other.linkerd.cluster.local" })).certPem;

function jwt(claims: Record<string, number>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "RS256" })}.${part(claims)}.sig`;
}

function kubeconfig(server: string, user: string, token: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{name: t, cluster: {server: "${server}"}}]`,
    `users: [{name: ${user}, user: {token: "${token}"}}]`,
    `contexts: [{name: t, context: {cluster: t, user: ${user}}}]`,
    "current-context: t",
  ].join("\n");
}

function link(name: string, target: string, gatewayAddress: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "multicluster.linkerd.io/v1alpha3",
    kind: "Link",
    metadata: { name, namespace: "linkerd-multicluster", managedFields: [{ manager: "kubectl", operation: "Apply" }] },
    spec: {
      targetClusterName: target,
      clusterCredentialsSecret: `cluster-credentials-${target}`,
      gatewayAddress,
      gatewayPort: "4143",
      ...extra,
    },
  };
}

function credentials(target: string, server: string, user: string, token: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `cluster-credentials-${target}`, namespace: "linkerd-multicluster" },
    type: "mirror.linkerd.io/remote-kubeconfig",
    data: { kubeconfig: Buffer.from(kubeconfig(server, user, token)).toString("base64") },
  };
}

function cluster(context: string, server: string, gateway: string, over: Partial<LiveCluster> = {}): LiveCluster {
  return {
    context,
    server,
    trustRootsPem: ANCHOR,
    gateway: { addresses: [gateway], port: 4143, identity: "gw", probePath: "/ready" },
    links: [],
    credentials: [],
    exported: [],
    mirrors: [],
    controllers: [],
    routes: [],
    ...over,
  };
}

const longLived = jwt({ iat: 1 });

test("Links keep Linkerd's names: a cluster is named what the Links into it call it, found by API server", () => {
  const live = [
    cluster("kind-east", "https://10.0.0.1:6443", "192.0.2.1"),
    cluster("kind-west", "https://10.0.0.2:6443", "192.0.2.2", {
      links: [link("east", "east", "192.0.2.1")],
      credentials: [
        credentials("east", "https://10.0.0.1:6443/", "linkerd-service-mirror-remote-access-default", longLived),
      ],
    }),
  ];
  const r = buildTopology(live);
  const spec = r.document.spec as Record<string, unknown[]>;
  assert.deepEqual(spec.clusters, [{ name: "east", context: "kind-east" }, { name: "kind-west" }]);
  assert.deepEqual(spec.links, [
    {
      from: "kind-west",
      to: "east",
      controller: "external",
      credentials: { mode: "service-account-token", serviceAccount: "linkerd-service-mirror-remote-access-default" },
    },
  ]);
  assert.equal(r.counts.links, 1);
});

test("guesses are notes: a target found by gateway address, a gateway the target does not report, a Link to an unknown cluster", async () => {
  const bounded = jwt({ iat: 1000, exp: 1000 + 7 * 86400 });
  const live = [
    cluster("east", "https://10.0.0.1:6443", "192.0.2.1"),
    cluster("west", "https://10.0.0.2:6443", "192.0.2.2", {
      links: [
        // The credentials name an address the context does not use (an internal name); the gateway matches east's.
        link("east", "east", "192.0.2.1"),
        link("far", "far", "203.0.113.9"),
      ],
      credentials: [
        credentials("east", "https://east.internal:6443", "linkerd-service-mirror-remote-access-west", bounded),
        credentials("far", "https://far.example:6443", "linkerd-service-mirror-remote-access-default", longLived),
      ],
    }),
    cluster("north", "https://10.0.0.3:6443", "192.0.2.3", {
      links: [link("east", "east", "198.51.100.7")],
      credentials: [
        credentials("east", "https://10.0.0.1:6443", "linkerd-service-mirror-remote-access-north", bounded),
      ],
      trustRootsPem: ANCHOR + OTHER,
    }),
  ];
  const r = buildTopology(live);
  const spec = r.document.spec as Record<string, Record<string, unknown>[]>;
  assert.equal(r.counts.links, 2);
  assert.equal(r.counts.linksLeftOut, 1);
  assert.deepEqual(spec.links, [
    { from: "west", to: "east", controller: "external", credentials: { ttl: "168h" } },
    { from: "north", to: "east", controller: "external", credentials: { ttl: "168h" } },
  ]);
  assert.equal(r.anchors.length, 2);
  const text = topologyYaml(r, ["header"]);
  assert.match(text, /# Link linkerd-multicluster\/far in west was not imported: its target 'far'/);
  assert.match(text, /# target east matched because its gateway address 192\.0\.2\.1 is east's linkerd-gateway/);
  assert.match(text, /#.*only in north's trust roots, not in east, west's/);
  assert.match(text, /#.*different addresses \(192\.0\.2\.1; 198\.51\.100\.7\)/);
  // Every note is a comment: the YAML reads back to the same document.
  assert.deepEqual(parse(text), r.document);

  const files = new Map(r.anchors.map((a) => [`/t/${a.file}`, a.pem]));
  const loaded = await loadTopology({
    file: "/t/multicluster.yaml",
    text,
    readFile: async (p) => files.get(p) ?? Promise.reject(Object.assign(new Error(p), { code: "ENOENT" })),
  });
  assert.deepEqual(
    loaded.diagnostics.filter((d) => d.severity === "error"),
    [],
  );
  assert.ok(loaded.topology);
});

test("exports by label and splits that send to mirrors; other routes are left out", () => {
  const svc = (name: string, labels: Record<string, string>): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "shop", labels },
  });
  const route = (name: string, parent: string, backends: [string, number][]): KubeObject => ({
    apiVersion: "policy.linkerd.io/v1beta3",
    kind: "HTTPRoute",
    metadata: { name, namespace: "shop" },
    spec: {
      parentRefs: [{ name: parent, kind: "Service", group: "core" }],
      rules: [{ backendRefs: backends.map(([n, weight]) => ({ name: n, weight })) }],
    },
  });
  const live = [
    cluster("east", "https://e", "192.0.2.1", {
      exported: [
        svc("cart", { "mirror.linkerd.io/exported": "true" }),
        svc("pay", { "mirror.linkerd.io/federated": "member" }),
        svc("odd", { "mirror.linkerd.io/exported": "maybe" }),
      ],
    }),
    cluster("west", "https://w", "192.0.2.2", {
      links: [link("east", "east", "192.0.2.1")],
      credentials: [
        credentials("east", "https://e", "linkerd-service-mirror-remote-access-west", jwt({ iat: 0, exp: 86400 })),
      ],
      mirrors: [
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: {
            name: "pay-federated",
            namespace: "shop",
            annotations: { "multicluster.linkerd.io/remote-discovery": "pay@east" },
          },
        },
      ],
      routes: [
        route("cart-split", "cart", [
          ["cart", 80],
          ["cart-east", 20],
        ]),
        route("pay-canary", "pay", [["pay-federated", 1]]),
        route("local-only", "cart", [["cart-v2", 1]]),
      ],
    }),
  ];
  const r = buildTopology(live, { name: "shop" });
  assert.equal((r.document.metadata as { name: string }).name, "shop");
  const spec = r.document.spec as Record<string, unknown[]>;
  assert.deepEqual(spec.exports, [
    { cluster: "east", namespace: "shop", services: ["cart"] },
    { cluster: "east", namespace: "shop", services: ["pay"], mode: "federated" },
  ]);
  assert.deepEqual(spec.splits, [
    {
      cluster: "west",
      namespace: "shop",
      service: "cart",
      api: "linkerd",
      backends: [
        { service: "cart", weight: 80 },
        { service: "cart", cluster: "east", weight: 20 },
      ],
    },
    {
      cluster: "west",
      namespace: "shop",
      service: "pay",
      api: "linkerd",
      backends: [{ service: "pay", cluster: "east", weight: 1 }],
    },
  ]);
  const text = topologyYaml(r, []);
  assert.match(text, /mirror\.linkerd\.io\/exported=maybe, a value no Link selects by default; not imported/);
  assert.match(text, /crosslink writes it as pay-split: delete pay-canary/);
});

test("no trust roots anywhere is a typed error", () => {
  assert.throws(
    () => buildTopology([cluster("a", "https://a", "192.0.2.1", { trustRootsPem: "" })]),
    (e: unknown) => e instanceof ImportError && e.code === "IMPORT_NO_TRUST_ROOTS",
  );
});
