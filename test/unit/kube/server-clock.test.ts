/** The server's time as an answer's `Date` header shows it. */
import assert from "node:assert/strict";
import test from "node:test";
import { serverTimeOfDate } from "../../../src/kube/http-client.js";

test("the server's time is the middle of the Date header's second; a header that does not parse gives none", () => {
  const date = "Mon, 23 Nov 2026 20:00:00 GMT";
  assert.equal(serverTimeOfDate(date), Date.UTC(2026, 10, 23, 20, 0, 0) + 500);
  assert.equal(serverTimeOfDate("not a date"), undefined);
});
