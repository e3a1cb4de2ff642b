// Parity with Linkerd's own renderers on the same clusters: `link-gen` (Link, both credential Secrets),
// `allow` (remote access in the target) and the chart's `controllers` entry (the managed controller)
// against what crosslink renders for east-west, field by field. Every difference must be on the
// allow-list below (docs/decisions.md §10 gives the reasons); every allow-list entry must be used.
import assert from "node:assert/strict";
import { test } from "node:test";
import yaml from "js-yaml";
import type { KubeObject } from "../../src/kube/object.js";
import { planTopology, reconcileOptions } from "../../src/engine/reconcile.js";
import { linkerdOk, yamlObjects } from "./linkerd-cli.js";
import { useConformance } from "./fixture.js";
import { applyOnce, exampleTopology } from "../engine/support.js";

const fx = useConformance();

type Source = "link-gen" | "allow" | "chart";
type Segment = string | number;

/** One allowed difference: where, which side holds the value, and why. */
interface Allowed {
  source: Source;
  kinds: string[];
  /** Path of the field; `*` matches any one segment; `undefined` means the whole object. */
  path?: Segment[];
  /** "crosslink": only crosslink sets it; "linkerd": only Linkerd's tool does; "both": values differ. */
  side: "crosslink" | "linkerd" | "both";
  reason: string;
}

const OWNER_LABELS = ["app.kubernetes.io/managed-by", "crosslink.dev/topology", "crosslink.dev/link"];
const ALL_KINDS = [
  "Link",
  "Secret",
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "Deployment",
  "Service",
];

/** The allowed differences (docs/decisions.md §10). */
export const ALLOWED: Allowed[] = [
  ...(["link-gen", "allow", "chart"] as const).flatMap((source) =>
    OWNER_LABELS.map((label): Allowed => ({
      source,
      kinds: ALL_KINDS,
      path: ["metadata", "labels", label],
      side: "crosslink",
      reason:
        "ownership labels: prune deletes only objects carrying both owner labels; crosslink.dev/link names the link",
    })),
  ),
  {
    source: "link-gen",
    kinds: ["Secret"],
    path: ["data", "kubeconfig", "users", 0, "user", "token"],
    side: "both",
    reason: "bounded token (TokenRequest, renewed at half its TTL) instead of the long-lived token Secret's",
  },
  {
    source: "link-gen",
    kinds: ["Secret"],
    path: ["data", "kubeconfig", "users", 0, "name"],
    side: "both",
    reason: "per-source remote-access account linkerd-service-mirror-remote-access-<from> instead of …-default",
  },
  {
    source: "link-gen",
    kinds: ["Secret"],
    path: ["data", "kubeconfig", "contexts", 0, "context", "user"],
    side: "both",
    reason: "per-source remote-access account (the context names the user)",
  },
  {
    source: "allow",
    kinds: ["Namespace"],
    side: "linkerd",
    reason: "crosslink never creates or deletes namespaces; the extension's install makes linkerd-multicluster",
  },
  {
    source: "allow",
    kinds: ["Secret"],
    side: "linkerd",
    reason:
      "bounded token: in token-request mode no long-lived <sa>-token Secret exists (service-account-token mode writes it)",
  },
  {
    source: "allow",
    kinds: ["ClusterRole", "ServiceAccount", "ClusterRoleBinding"],
    path: ["metadata", "annotations", "linkerd.io/created-by"],
    side: "linkerd",
    reason: "names the CLI that wrote the object; crosslink is not that CLI, and Linkerd reads it only on Links",
  },
  {
    source: "chart",
    kinds: ["ClusterRole"],
    side: "linkerd",
    reason:
      "the shared controller ClusterRole is the chart's (seeded as install renders it): crosslink binds to it and never takes it over",
  },
];

function segmentsMatch(pattern: Segment[], path: Segment[]): boolean {
  return pattern.length === path.length && pattern.every((p, i) => p === "*" || p === path[i]);
}

/** Leaf values by path; empty objects and arrays are no fields; a Secret's kubeconfig is compared parsed. */
function leaves(
  o: unknown,
  path: Segment[] = [],
  out = new Map<string, { path: Segment[]; value: unknown }>(),
): Map<string, { path: Segment[]; value: unknown }> {
  if (Array.isArray(o)) o.forEach((v, i) => leaves(v, [...path, i], out));
  else if (o && typeof o === "object") for (const [k, v] of Object.entries(o)) leaves(v, [...path, k], out);
  else out.set(JSON.stringify(path), { path, value: o });
  return out;
}

function comparable(o: KubeObject): unknown {
  const c = structuredClone(o) as KubeObject & { data?: Record<string, string> };
  if (c.kind === "Secret" && c.data?.kubeconfig) {
    (c.data as Record<string, unknown>).kubeconfig = yaml.load(
      Buffer.from(c.data.kubeconfig, "base64").toString("utf8"),
    );
  }
  return c;
}

const keyOf = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

interface Difference {
  source: Source;
  object: string;
  kind: string;
  path?: Segment[];
  side: "crosslink" | "linkerd" | "both";
  linkerd?: unknown;
  crosslink?: unknown;
}

/** Every difference between Linkerd's objects and crosslink's of the same kind, namespace and name. */
function differences(source: Source, linkerd: KubeObject[], crosslink: KubeObject[]): Difference[] {
  const out: Difference[] = [];
  const ours = new Map(crosslink.map((o) => [keyOf(o), o]));
  for (const theirs of linkerd) {
    const mine = ours.get(keyOf(theirs));
    if (!mine) {
      out.push({ source, object: keyOf(theirs), kind: theirs.kind, side: "linkerd" });
      continue;
    }
    const a = leaves(comparable(theirs));
    const b = leaves(comparable(mine));
    for (const k of new Set([...a.keys(), ...b.keys()])) {
      const x = a.get(k);
      const y = b.get(k);
      if (x && y && x.value === y.value) continue;
      out.push({
        source,
        object: keyOf(theirs),
        kind: theirs.kind,
        path: (x ?? y)!.path,
        side: !y ? "linkerd" : !x ? "crosslink" : "both",
        linkerd: x?.value,
        crosslink: y && (String(y.path.at(-1)) === "token" ? "(token)" : y.value),
      });
    }
  }
  return out;
}

function allowedBy(d: Difference): Allowed | undefined {
  return ALLOWED.find(
    (a) =>
      a.source === d.source &&
      a.side === d.side &&
      a.kinds.includes(d.kind) &&
      (a.path && d.path ? segmentsMatch(a.path, d.path) : !a.path && !d.path),
  );
}

test("crosslink's objects equal link-gen's, allow's and the controller chart's except the allowed differences", async (t) => {
  if (fx.skip) return t.skip(fx.skip);
  const { tools } = fx;
  const desired = (await planTopology(fx.topology, fx.acc.clients, reconcileOptions())).desired;
  const west = desired.get("west")!.objects;
  const east = desired.get("east")!.objects;
  assert.equal(
    desired.get("west")!.credentials.length,
    0,
    "the credentials are current, so their Secrets are rendered in full",
  );

  // Linkerd's renderers, run against the target (east) as their docs say.
  const linkGen = yamlObjects(
    await linkerdOk(tools!, fx.target("east"), ["multicluster", "link-gen", "--cluster-name", "east"]),
  );
  const allow = yamlObjects(
    await linkerdOk(tools!, fx.target("east"), [
      "multicluster",
      "allow",
      "--service-account-name",
      "linkerd-service-mirror-remote-access-west",
      "--ignore-cluster",
    ]),
  );
  const controllerNames = new Set([
    "controller-east",
    "probe-east",
    "controller-read-remote-creds-east",
    "linkerd-multicluster-controller-access-local-resources",
    "linkerd-multicluster-controller-access-local-resources-east",
  ]);
  const chart = yamlObjects(
    await linkerdOk(tools!, undefined, [
      "multicluster",
      "install",
      "--ignore-cluster",
      "--set",
      "controllers[0].link.ref.name=east",
    ]),
  ).filter((o) => controllerNames.has(o.metadata.name) && o.kind !== "Server" && o.kind !== "AuthorizationPolicy");
  assert.deepEqual(linkGen.map(keyOf).sort(), [
    "Link linkerd-multicluster/east",
    "Secret linkerd-multicluster/cluster-credentials-east",
    "Secret linkerd/cluster-credentials-east",
  ]);
  assert.equal(chart.length, 7, chart.map(keyOf).join(", "));

  const diffs = [
    ...differences("link-gen", linkGen, west),
    ...differences("allow", allow, east),
    ...differences("chart", chart, west),
  ];
  // crosslink renders nothing for the link that Linkerd's tools do not.
  const theirs = new Set([...linkGen, ...chart].map(keyOf));
  const extraWest = west.filter((o) => !theirs.has(keyOf(o))).map(keyOf);
  const extraEast = east.filter((o) => !new Set(allow.map(keyOf)).has(keyOf(o))).map(keyOf);
  assert.deepEqual([...extraWest, ...extraEast], []);

  const unexplained = diffs.filter((d) => !allowedBy(d));
  assert.deepEqual(unexplained, [], "differences not on the allow-list");
  const used = new Set(diffs.map(allowedBy));
  const unused = ALLOWED.filter((a) => !used.has(a));
  assert.deepEqual(
    unused.map((a) => `${a.source} ${a.kinds.join("/")} ${JSON.stringify(a.path)}`),
    [],
    "allow-list entries no difference needs",
  );
  const byReason = new Map<string, number>();
  for (const d of diffs) byReason.set(allowedBy(d)!.reason, (byReason.get(allowedBy(d)!.reason) ?? 0) + 1);
  for (const [reason, n] of byReason) t.diagnostic(`${n} × ${reason}`);
});

test("in service-account-token mode link-gen and allow for the per-source account differ from crosslink only by ownership labels and created-by", async (t) => {
  if (fx.skip) return t.skip(fx.skip);
  const { tools } = fx;
  const topology = await exampleTopology("east-west", fx.clusters.trustAnchorPem, (d) =>
    d.setIn(["spec", "links", 0, "credentials"], d.createNode({ mode: "service-account-token" })),
  );
  const applied = await applyOnce(topology, fx.acc);
  assert.ok(
    applied.changes.clusters.every((c) => c.converged),
    JSON.stringify(applied.changes),
  );
  const desired = (await planTopology(topology, fx.acc.clients, reconcileOptions())).desired;
  assert.equal(desired.get("west")!.credentials.length, 0);
  const sa = "linkerd-service-mirror-remote-access-west";
  const linkGen = yamlObjects(
    await linkerdOk(tools!, fx.target("east"), [
      "multicluster",
      "link-gen",
      "--cluster-name",
      "east",
      "--service-account-name",
      sa,
    ]),
  );
  const allow = yamlObjects(
    await linkerdOk(tools!, fx.target("east"), [
      "multicluster",
      "allow",
      "--service-account-name",
      sa,
      "--ignore-cluster",
    ]),
  ).filter((o) => o.kind !== "Namespace");
  const diffs = [
    ...differences("link-gen", linkGen, desired.get("west")!.objects),
    ...differences("allow", allow, desired.get("east")!.objects),
  ];
  const explained = (d: Difference) =>
    d.side === "crosslink" &&
    d.path?.[0] === "metadata" &&
    d.path[1] === "labels" &&
    OWNER_LABELS.includes(String(d.path[2]))
      ? "ownership labels"
      : d.source === "allow" &&
          d.side === "linkerd" &&
          d.path?.join("/") === "metadata/annotations/linkerd.io/created-by"
        ? "created-by"
        : undefined;
  assert.deepEqual(
    diffs.filter((d) => !explained(d)),
    [],
    "the same token, user and Secrets as Linkerd's own tools",
  );
  assert.ok(
    diffs.some((d) => d.kind === "Secret" && d.object.endsWith(`${sa}-token`)),
    "allow's token Secret is compared with crosslink's",
  );
  t.diagnostic(`${diffs.length} differences, all ownership labels or created-by`);
});
