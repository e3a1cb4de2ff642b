/**
 * The write fence (`mayWrite`, what a lost Lease turns off) is asked again when a write can leave at once, not only
 * when it is handed a socket: against a real API server behind a loopback proxy that holds the TLS handshake, a
 * write whose fence closes while its connection is still being made is refused unsent, and the object is not
 * written; with the fence open the same write goes through once the handshake is let on.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { clientForContext, loadKubeConfig } from "../../src/kube/access.js";
import { KubeError } from "../../src/kube/errors.js";
import type { KubeObject } from "../../src/kube/object.js";
import { proxiedKubeconfig } from "../daemon/support.js";
import { waitFor } from "../support/wait.js";
import { useClusters } from "./support.js";

const fx = useClusters(["solo"], "east-west");

const ONE_ATTEMPT = { attempts: 1, baseDelayMs: 50, timeoutMs: 10_000 };

const configMap = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default" },
  data: { written: "yes" },
});

test("a write whose fence closes during its TLS handshake is refused unsent; with the fence open it goes through", async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "xl-fence-"));
  const { proxy, kubeconfig } = await proxiedKubeconfig({ tmp, clusters: fx.clusters }, "solo");
  const admin = clientForContext(loadKubeConfig(fx.clusters.kubeconfigPath), "solo", "solo")!;
  try {
    for (const [name, openAtRelease] of [
      ["fenced-late", false],
      ["fence-open", true],
    ] as const) {
      // A fresh client: its first request opens a connection, whose ClientHello the proxy holds.
      const client = clientForContext(loadKubeConfig(kubeconfig), "solo", "solo", ONE_ATTEMPT)!;
      let allowed = true;
      proxy.hold();
      const write = client.apply(configMap(name), { fieldManager: "test", mayWrite: () => allowed });
      const outcome = write.then(
        () => "written",
        (e: unknown) => e,
      );
      await waitFor("the ClientHello held at the proxy", () => proxy.heldChunks() > 0, 5_000, 10);
      allowed = openAtRelease; // a Lease lost (or not) while the connection is being made
      proxy.release();
      const result = await outcome;
      client.close();
      const live = await admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name });
      if (openAtRelease) {
        assert.equal(result, "written");
        assert.equal((live?.data as Record<string, string> | undefined)?.written, "yes");
      } else {
        assert.ok(result instanceof KubeError && result.code === "KUBE_ABORTED", String(result));
        assert.match(result.message, /write refused unsent/);
        assert.equal(live, undefined, "nothing written");
      }
    }
  } finally {
    admin.close();
    await proxy.cut();
    await rm(tmp, { recursive: true, force: true });
  }
});
