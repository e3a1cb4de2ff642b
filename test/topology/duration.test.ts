import { test } from "node:test";
import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "../../src/topology/duration.js";

test("Go durations", () => {
  assert.equal(parseDuration("168h"), 604800);
  assert.equal(parseDuration("30m"), 1800);
  assert.equal(parseDuration("1h30m"), 5400);
  assert.equal(parseDuration("1.5h"), 5400);
  assert.equal(parseDuration("90s"), 90);
  assert.equal(parseDuration("1500ms"), 2);
  assert.equal(parseDuration("1m0s"), 60);
  for (const bad of ["", "1d", "h", "-1h", "1 h", "1h ", "10", "1.h", "1e3s"])
    assert.equal(parseDuration(bad), undefined, bad);
});

test("format", () => {
  assert.equal(formatDuration(5400), "1h30m");
  assert.equal(formatDuration(300), "5m");
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(90061), "25h1m1s");
});
