/**
 * Issue 9, item 5: names Kubernetes rejects must not pass validation. Every
 * name and label value crosslink derives is checked against its limit (rule
 * XL217, located on the cluster name that makes it too long), and — the
 * property that matters — what `validate` accepts, the API server accepts:
 * seeded random topologies with long and odd names are validated, and each
 * one accepted is planned against two harness clusters and applied with
 * server-side dry-run (dryRun=All); no object may be refused.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startClusters, type StartedClusters } from "../harness/driver.js";
import { actionRef } from "../../src/engine/plan/actions.js";
import { applyRun, planTopology, reconcileOptions } from "../../src/engine/reconcile.js";
import { loadTopology } from "../../src/topology/index.js";
import { access } from "../engine/support.js";
import { prng } from "../support/prng.js";

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
/** A DNS label of `n` characters, often odd: leading digits, runs of hyphens. */
function label(rand: () => number, n: number): string {
  const pick = (s: string) => s[Math.floor(rand() * s.length)]!;
  let out = rand() < 0.3 ? pick("0123456789") : pick(ALNUM);
  while (out.length < n - 1) out += rand() < 0.2 ? "-".repeat(1 + Math.floor(rand() * 3)) : pick(ALNUM);
  return (n > 1 ? out + pick(ALNUM) : out).slice(0, n);
}

const LENGTHS = [1, 2, 4, 8, 12, 16, 20, 25, 30, 31, 32, 40, 52, 53, 57, 58, 63];

interface Case {
  name: string;
  a: string;
  b: string;
  links: { from: string; to: string; controller: string; mode: string }[];
}

function yaml(c: Case, anchorPem: string): string {
  const pem = anchorPem
    .trim()
    .split("\n")
    .map((l) => `        ${l}`)
    .join("\n");
  return [
    "apiVersion: crosslink.dev/v1alpha1",
    "kind: Topology",
    `metadata: {name: "${c.name}"}`,
    "spec:",
    "  trustAnchors:",
    "    - name: root",
    "      pem: |",
    pem,
    "  clusters:",
    `    - {name: "${c.a}", context: east}`,
    `    - {name: "${c.b}", context: west}`,
    "  links:",
    ...c.links.map(
      (l) => `    - {from: "${l.from}", to: "${l.to}", controller: ${l.controller}, credentials: {mode: ${l.mode}}}`,
    ),
    "  exports:",
    `    - {cluster: "${c.a}", namespace: emojivoto, services: [web-svc]}`,
    "",
  ].join("\n");
}

function randomCase(rand: () => number): Case {
  const len = () => LENGTHS[Math.floor(rand() * LENGTHS.length)]!;
  const a = label(rand, len());
  let b = label(rand, len());
  if (b === a) b = `${b.slice(0, 62)}x`.slice(-Math.max(1, b.length));
  const link = (from: string, to: string) => ({
    from,
    to,
    controller: rand() < 0.5 ? "managed" : "external",
    mode: rand() < 0.7 ? "token-request" : "service-account-token",
  });
  const links = [link(b, a)];
  if (rand() < 0.5) links.push(link(a, b));
  return { name: label(rand, len()), a, b, links };
}

// Cases at and just past each limit, then seeded random ones.
const FIXED: Case[] = [
  {
    name: "t",
    a: "a".repeat(40),
    b: "b".repeat(40),
    links: [{ from: "b".repeat(40), to: "a".repeat(40), controller: "external", mode: "token-request" }],
  },
  {
    name: "t",
    a: "a".repeat(31),
    b: "b".repeat(31),
    links: [{ from: "b".repeat(31), to: "a".repeat(31), controller: "external", mode: "token-request" }],
  },
  {
    name: "t",
    a: "c".repeat(58),
    b: "d",
    links: [{ from: "d", to: "c".repeat(58), controller: "managed", mode: "token-request" }],
  },
  {
    name: "t",
    a: "c".repeat(52),
    b: "d",
    links: [{ from: "d", to: "c".repeat(52), controller: "managed", mode: "service-account-token" }],
  },
  {
    name: "x".repeat(63),
    a: "1-2--3",
    b: "0",
    links: [{ from: "0", to: "1-2--3", controller: "managed", mode: "token-request" }],
  },
];
const SEED = Number(process.env.CROSSLINK_NAMES_SEED ?? 20260123);
const RANDOM = 40;

let clusters: StartedClusters;
before(async () => {
  clusters = await startClusters(["east", "west"], { log: () => {} });
});
after(async () => {
  await clusters?.stop();
});

test("two 40-character cluster names and a 58-character managed `to` are located XL217 errors", async () => {
  const r = await loadTopology({ file: "t.yaml", text: yaml(FIXED[0]!, clusters.trustAnchorPem) });
  const xl217 = r.diagnostics.filter((d) => d.code === "XL217");
  assert.equal(r.topology, undefined);
  assert.ok(
    xl217.some((d) => /crosslink\.dev\/link/.test(d.message) && d.pointer === "/spec/links/0/to" && d.line > 1),
    JSON.stringify(r.diagnostics),
  );
  const m = await loadTopology({ file: "t.yaml", text: yaml(FIXED[2]!, clusters.trustAnchorPem) });
  assert.ok(
    m.diagnostics.some(
      (d) =>
        d.code === "XL217" &&
        d.pointer === "/spec/links/0/to" &&
        /probe Service `probe-c{58}` is 64 characters/.test(d.message),
    ),
    JSON.stringify(m.diagnostics),
  );
});

test(`what validate accepts the API server accepts (seed ${SEED}, ${FIXED.length} fixed and ${RANDOM} random topologies)`, async () => {
  const rand = prng(SEED);
  const cases = [...FIXED, ...Array.from({ length: RANDOM }, () => randomCase(rand))];
  let accepted = 0;
  let longest = 0;
  let dryRun = 0;
  const refused: string[] = [];
  for (const c of cases) {
    const { topology } = await loadTopology({
      file: "t.yaml",
      text: yaml(c, clusters.trustAnchorPem),
      now: new Date(),
    });
    if (!topology) continue;
    accepted++;
    longest = Math.max(longest, c.a.length, c.b.length);
    const acc = access(topology, clusters.kubeconfigPath);
    try {
      const opts = reconcileOptions({ dryRun: true, tokenWaitMs: 5_000 });
      const run = await planTopology(topology, acc.clients, opts);
      const changes = await applyRun(run, acc.clients, opts);
      for (const cs of changes.clusters) {
        for (const r of cs.results) {
          if (r.status === "done") dryRun++;
          if (r.status === "failed")
            refused.push(
              `${c.a} / ${c.b} (${c.links.map((l) => `${l.from}→${l.to} ${l.controller}`).join(", ")}): ${r.action.type} ${JSON.stringify(actionRef(r.action))}: ${r.error}`,
            );
        }
        if (cs.error) refused.push(`${c.a} / ${c.b}: ${cs.cluster}: ${cs.error}`);
      }
    } finally {
      acc.close();
    }
  }
  assert.deepEqual(
    refused,
    [],
    `objects of topologies validate accepted were refused by the API server:\n${refused.join("\n")}`,
  );
  assert.ok(accepted >= 8, `accepted ${accepted} of ${cases.length}: the generator must produce valid topologies`);
  assert.ok(dryRun >= accepted * 5, `${dryRun} objects dry-run applied for ${accepted} topologies`);
  console.log(
    `# ${accepted} of ${cases.length} topologies valid, ${dryRun} objects accepted by server-side dry-run, longest cluster name ${longest}`,
  );
  assert.ok(longest >= 52, `the longest accepted cluster name has ${longest} characters: long names must be exercised`);
});
