/**
 * The daemon's certificate expiry, end to end: two harness clusters, workload2's
 * issuer reissued (by crosslink's own PKI) to expire in 30 days. /metrics has
 * `crosslink_certificate_expiry_timestamp_seconds` for every anchor and issuer
 * with the certificates' own notAfter; /status and `crosslink status` warn
 * about workload2's issuer only (60-day threshold).
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, test } from "node:test";
import { createDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/daemon/log.js";
import type { DaemonStatus } from "../../src/daemon/status.js";
import { FIELD_MANAGER } from "../../src/kube/http-client.js";
import { issuerSecret } from "../../src/pki/issuer-secret.js";
import { createIssuer } from "../../src/pki/x509.js";
import { runCli } from "../review/support.js";
import { daemonArgs, type DaemonEnv, runConfig, setupDaemonEnv, testClients, waitFor } from "./support.js";

let env: DaemonEnv;
let d: Daemon | undefined;
let shortIssuer: X509Certificate;

before(async () => {
  env = await setupDaemonEnv("crosslink-certs-");
  const issuer = await createIssuer(env.clusters.trustAnchor, { lifetimeMs: 30 * 86_400_000 });
  shortIssuer = new X509Certificate(issuer.certPem);
  await env.check.clients
    .get("workload2")!
    .apply(issuerSecret("linkerd", "linkerd.io/tls", issuer, env.clusters.trustAnchorPem), {
      force: true,
      fieldManager: FIELD_MANAGER,
    });
});

after(async () => {
  await d?.stop().catch(() => {});
  await env?.teardown();
});

test("expiry metrics for every anchor and issuer; status warns 60 days ahead", async () => {
  const cfg = runConfig([...daemonArgs(env, "cache"), "--schedule", "*/1 * * * * *"]);
  d = await createDaemon(cfg, {
    log: createLogger("silent"),
    clients: testClients(env.clusters.kubeconfigPath, undefined, 3_000),
  });
  await d.start();
  const url = d.url();
  const s = await waitFor(
    "both clusters observed (a run may give way to the next tick and report its clusters when they finish)",
    async () => {
      const st = (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
      return st.lastReconcile && st.clusters.every((c) => c.state !== "pending") && st.certificateWarnings
        ? st
        : undefined;
    },
    20_000,
    100,
  );
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const rows = metrics.split("\n").filter((l) => l.startsWith("crosslink_certificate_expiry_timestamp_seconds{"));
  assert.equal(rows.length, 4, rows.join("\n")); // an anchor and an issuer in each of two clusters
  const anchorEnd = Math.floor(Date.parse(new X509Certificate(env.clusters.trustAnchorPem).validTo) / 1000);
  for (const c of ["workload1", "workload2"])
    assert.ok(
      rows.includes(
        `crosslink_certificate_expiry_timestamp_seconds{cluster="${c}",kind="anchor",name="root",anchor="root"} ${anchorEnd}`,
      ),
      rows.join("\n"),
    );
  const issuerEnd = Math.floor(Date.parse(shortIssuer.validTo) / 1000);
  assert.ok(
    rows.includes(
      `crosslink_certificate_expiry_timestamp_seconds{cluster="workload2",kind="issuer",name="linkerd-identity-issuer",anchor="root"} ${issuerEnd}`,
    ),
    rows.join("\n"),
  );
  assert.deepEqual(
    s.certificateWarnings?.map((w) => `${w.cluster} ${w.kind} ${w.days}`),
    ["workload2 issuer 29"],
  );
  const printed = await runCli(["status", "--url", url]);
  assert.match(
    printed.stdout,
    /WARNING \[workload2\] issuer linkerd-identity-issuer \(chains to root\) expires .* \(29 days\)/,
  );
  assert.doesNotMatch(printed.stdout, /PRIVATE KEY/);
});
