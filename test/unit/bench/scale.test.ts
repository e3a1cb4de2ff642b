/** bench:scale's reading of the benches' output: BENCH_JSON lines, bench:daemon's text lines, budgets, "—". */
import assert from "node:assert/strict";
import { test } from "node:test";
import { benchJson, daemonRows, engineRows, plannerRows, table } from "../../../bench/scale.js";

const cost = (requests: number, writes: number, ms: number) => ({ requests, writes, ms, peakRssBytes: 1 });

test("the last well-formed BENCH_JSON line is read; none is undefined", () => {
  const text = 'x\nBENCH_JSON {"bench":"a","n":1}\nBENCH_JSON {broken\nBENCH_JSON {"bench":"b","n":2}\n';
  assert.deepEqual(benchJson(text), { bench: "b", n: 2 });
  assert.equal(benchJson("no line here"), undefined);
});

test("engine rows: within and over budget, and — when the bench gave nothing", () => {
  const rows = engineRows({
    bench: "engine",
    noopRequestsPerCluster: 14,
    first: cost(2400, 2280, 1000),
    noop: cost(140, 0, 100),
    kubectlFirst: cost(2300, 2250, 9000),
    kubectlNoop: cost(2300, 2250, 5000),
  });
  assert.deepEqual(
    rows.map((r) => r.ok),
    [false, true, true, false],
  );
  assert.match(rows[3]!.value!, /^9\.0×/);
  assert.ok(engineRows(undefined).every((r) => r.value === undefined && r.ok === undefined));
  assert.match(table(engineRows(undefined)), /no-op requests per cluster\s+—\s+≤ 12\s+—/);
});

test("daemon figures come from BENCH_JSON keys at any depth, else from its text lines", () => {
  const fromJson = daemonRows({
    text: "",
    code: 0,
    ms: 1,
    json: { bench: "daemon", steady: { steadyTickRequests: 0 }, repairLatencyMs: 420, rssMiB: 160 },
  });
  assert.deepEqual(
    fromJson.map((r) => [r.value, r.ok]),
    [
      ["0", true],
      ["420 ms", true],
      ["160 MiB", false],
      [undefined, undefined],
    ],
  );
  const text =
    "no-change tick (drift check every tick, the default): 12.0 ms, git 1 request(s) 200 bytes, API 24 request(s)\n" +
    "1,000 no-change ticks: 9.0 s (9.00 ms/tick); memory after: rss 120.5 MiB, heap used 40.0 MiB (before: rss 100.0 MiB, heap 38.0 MiB)\n";
  const fromText = daemonRows({ text, code: 0, ms: 1 });
  assert.deepEqual(
    fromText.map((r) => [r.value, r.ok]),
    [
      ["24", false],
      [undefined, undefined],
      ["121 MiB", true],
      ["+2.0 MiB", true],
    ],
  );
});

test("planner rows: the fleet size against its budget, the others as growth", () => {
  const size = (clusters: number, wallMs: number, rss: number) => ({
    clusters,
    exports: clusters * 100,
    load: { wallMs: wallMs / 2, cpuMs: wallMs / 2 },
    firstPlan: { wallMs: wallMs / 2, cpuMs: wallMs / 2 },
    peakRssBytes: rss,
  });
  const rows = plannerRows({ bench: "planner", sizes: [size(100, 400, 2 ** 27), size(1000, 6000, 2 ** 29)] });
  assert.deepEqual(
    rows.map((r) => r.ok),
    [undefined, false],
  );
  const missing = plannerRows({ bench: "planner", sizes: [size(100, 400, 2 ** 27)] });
  assert.equal(missing.length, 2);
  assert.equal(missing[1]!.value, undefined);
});
