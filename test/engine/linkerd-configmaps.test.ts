/**
 * linkerd-config and the trust roots against a real API server: one LIST of the
 * Linkerd namespace's ConfigMaps where RBAC allows it; where RBAC names only the
 * two ConfigMaps (the least privilege of earlier charts), the refused LIST falls
 * back to a GET of each, the same objects, and the LIST is not tried again.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { clientForContext, loadKubeConfig } from "../../src/kube/access.js";
import type { HttpClusterClient } from "../../src/kube/http-client.js";
import { readLinkerdConfigMaps } from "../../src/engine/observe.js";
import { tokenKubeConfig } from "../chart/support.js";
import { toKubeconfig } from "../harness/kube.js";
import { useClusters } from "./support.js";

const fx = useClusters(["solo"], "east-west", () => ({ seed: true }));
const NAMES_ONLY = "crosslink-configmap-names-only";

/** Requests `client` sends while `fn` runs, by verb. */
async function counted<T>(client: HttpClusterClient, fn: () => Promise<T>): Promise<{ value: T; requests: number }> {
  const before = client.counters.requests;
  const value = await fn();
  return { value, requests: client.counters.requests - before };
}

test("one LIST answers both ConfigMaps; with only their names granted, a GET of each answers the same", async () => {
  const kc = loadKubeConfig(fx.clusters.kubeconfigPath);
  kc.setCurrentContext("solo");
  const admin = clientForContext(kc, "solo", "solo")!;
  try {
    const listed = await counted(admin, () => readLinkerdConfigMaps(admin, "linkerd"));
    assert.equal(listed.requests, 1, "one LIST for both");
    assert.equal(listed.value.config?.metadata.name, "linkerd-config");
    assert.equal(listed.value.roots?.metadata.name, "linkerd-identity-trust-roots");

    // An account that may GET the two ConfigMaps by name and nothing else of them.
    const meta = (kind: string, apiVersion: string, namespace?: string) => ({
      apiVersion,
      kind,
      metadata: { name: NAMES_ONLY, ...(namespace ? { namespace } : {}) },
    });
    const w = { fieldManager: "test" };
    await admin.apply(meta("ServiceAccount", "v1", "linkerd"), w);
    await admin.apply(
      {
        ...meta("ClusterRole", "rbac.authorization.k8s.io/v1"),
        rules: [
          {
            apiGroups: [""],
            resources: ["configmaps"],
            resourceNames: ["linkerd-config", "linkerd-identity-trust-roots"],
            verbs: ["get"],
          },
        ],
      },
      w,
    );
    await admin.apply(
      {
        ...meta("ClusterRoleBinding", "rbac.authorization.k8s.io/v1"),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NAMES_ONLY },
        subjects: [{ kind: "ServiceAccount", name: NAMES_ONLY, namespace: "linkerd" }],
      },
      w,
    );
    const { token } = await admin.createToken("linkerd", NAMES_ONLY, 600);
    // Another name: a process keeps one identity per cluster name, and remembers a refusal by name and server.
    const restricted = clientForContext(toKubeconfig(tokenKubeConfig(kc, token)), "c", "solo-names-only")!;
    try {
      const first = await counted(restricted, () => readLinkerdConfigMaps(restricted, "linkerd"));
      assert.equal(first.requests, 3, "the refused LIST, then a GET of each");
      assert.deepEqual(first.value.config?.data, listed.value.config?.data);
      assert.deepEqual(first.value.roots?.data, listed.value.roots?.data);
      const again = await counted(restricted, () => readLinkerdConfigMaps(restricted, "linkerd"));
      assert.equal(again.requests, 2, "the refused LIST is not tried again");
      assert.deepEqual(again.value.roots?.data, listed.value.roots?.data);
      // The admin's LIST is unaffected by the other account's refusal.
      const adminAgain = await counted(admin, () => readLinkerdConfigMaps(admin, "linkerd"));
      assert.equal(adminAgain.requests, 1);
    } finally {
      restricted.close();
    }
  } finally {
    admin.close();
  }
});
