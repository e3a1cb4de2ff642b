/** The server's clock as an answer's `Date` header shows it. */
import assert from "node:assert/strict";
import test from "node:test";
import { serverClockOffsetMs } from "../../../src/kube/http-client.js";

test("the offset is the Date header's second, taken at its middle, minus the local clock", () => {
  const date = "Mon, 23 Nov 2026 20:00:00 GMT";
  const at = Date.parse(date);
  assert.equal(serverClockOffsetMs(date, at), 500);
  assert.equal(serverClockOffsetMs(date, at + 3 * 3600_000), 500 - 3 * 3600_000, "this machine 3 h ahead");
  assert.equal(serverClockOffsetMs(date, at - 90_000), 90_500, "this machine 90 s behind");
  assert.equal(serverClockOffsetMs("not a date", at), undefined);
});
