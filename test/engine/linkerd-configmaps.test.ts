/**
 * linkerd-config and the trust roots against a real API server: one LIST of the
 * Linkerd namespace's ConfigMaps where RBAC allows it; where RBAC names only the
 * two ConfigMaps (the least privilege of earlier charts), the refused LIST falls
 * back to a GET of each, the same objects, and the client does not try the LIST again; a client built anew
 * does, once. The same through the watch cache (`--observe watch`): with list+watch granted on the names, a watch of
 * each; with only `get`, each name's refused LIST then a GET of each (the LISTs not asked again).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { clientForContext, loadKubeConfig } from "../../src/kube/access.js";
import type { HttpClusterClient } from "../../src/kube/http-client.js";
import { CachedClusterClient } from "../../src/kube/watch-cache.js";
import { readLinkerdConfigMaps } from "../../src/engine/observe.js";
import { tokenKubeConfig } from "../chart/support.js";
import { toKubeconfig } from "../harness/kube.js";
import { useClusters } from "./support.js";

const fx = useClusters(["solo"], "east-west", () => ({ seed: true }));
const NAMES_ONLY = "crosslink-configmap-names-only";
const NAMES_WATCH = "crosslink-configmap-names-watch";

/**
 * A ServiceAccount in `linkerd` granted `verbs` on the two ConfigMaps by name and nothing else of ConfigMaps;
 * returns a token of it.
 */
async function accountWithNames(admin: HttpClusterClient, name: string, verbs: string[]): Promise<string> {
  const meta = (kind: string, apiVersion: string, namespace?: string) => ({
    apiVersion,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
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
          verbs,
        },
      ],
    },
    w,
  );
  await admin.apply(
    {
      ...meta("ClusterRoleBinding", "rbac.authorization.k8s.io/v1"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: "linkerd" }],
    },
    w,
  );
  return (await admin.createToken("linkerd", name, 600)).token;
}

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
    const token = await accountWithNames(admin, NAMES_ONLY, ["get"]);
    // The same cluster name and server as the admin's client: the refusal is remembered by the client, not by name.
    const restrictedClient = () => clientForContext(toKubeconfig(tokenKubeConfig(kc, token)), "c", "solo")!;
    const restricted = restrictedClient();
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
    // A client built anew (a new commit, an RBAC change) asks again.
    const rebuilt = restrictedClient();
    try {
      const anew = await counted(rebuilt, () => readLinkerdConfigMaps(rebuilt, "linkerd"));
      assert.equal(anew.requests, 3, "the new client's LIST, refused, then a GET of each");
    } finally {
      rebuilt.close();
    }

    // Through the watch cache, which reads a name by a LIST+WATCH of it (fieldSelector metadata.name, authorized by
    // resourceNames): an account that may also list and watch the two names. The refused LIST, then a LIST+WATCH
    // of each name; later reads send no LIST.
    const watcher = await accountWithNames(admin, NAMES_WATCH, ["get", "list", "watch"]);
    const cached = new CachedClusterClient(clientForContext(toKubeconfig(tokenKubeConfig(kc, watcher)), "c", "solo")!);
    try {
      const lists = () => cached.counters.byVerb.GET ?? 0;
      const before = lists();
      const first = await readLinkerdConfigMaps(cached, "linkerd");
      assert.equal(lists() - before, 3, "the refused LIST, then the LIST of each name's watch");
      assert.deepEqual(first.roots?.data, listed.value.roots?.data);
      const again = await readLinkerdConfigMaps(cached, "linkerd");
      assert.equal(lists() - before, 3, "answered from the watches of the names; the refused LIST not sent again");
      assert.deepEqual(again.config?.data, listed.value.config?.data);
    } finally {
      cached.close();
    }

    // Through the watch cache with only `get` granted on the two names: each name's LIST (for its watch) is refused
    // too, so each is read by a plain GET, then and at every later read; no LIST is sent again.
    const getOnly = new CachedClusterClient(restrictedClient());
    try {
      const requests = () => getOnly.counters.requests;
      const before = requests();
      const first = await readLinkerdConfigMaps(getOnly, "linkerd");
      assert.equal(requests() - before, 5, "the refused namespace LIST, each name's refused LIST, a GET of each");
      assert.deepEqual(first.config?.data, listed.value.config?.data);
      assert.deepEqual(first.roots?.data, listed.value.roots?.data);
      assert.equal(getOnly.readsByGet(), true);
      assert.deepEqual(
        getOnly
          .watches()
          .map((w) => `${w.fieldSelector} ${w.readBy ?? "watched"}`)
          .sort(),
        [
          "metadata.name=linkerd-config get (list refused)",
          "metadata.name=linkerd-identity-trust-roots get (list refused)",
        ],
      );
      const again = await readLinkerdConfigMaps(getOnly, "linkerd");
      assert.equal(requests() - before, 7, "a GET of each only");
      assert.deepEqual(again.roots?.data, listed.value.roots?.data);
      assert.equal(getOnly.counters.byVerb.GET, 7, "all seven are GET requests (LISTs included)");
    } finally {
      getOnly.close();
    }
  } finally {
    admin.close();
  }
});
