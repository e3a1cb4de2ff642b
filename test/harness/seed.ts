// Makes a bare kube-harness cluster look like one with Linkerd and the
// multicluster extension installed: the data is in seed-data.ts and
// test/harness/crds/; seedCluster() applies it with server-side apply under the
// field manager "linkerd-harness" (so crosslink's own manager is distinguishable).
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { parse } from "yaml";
import { clientForContext } from "../../src/kube/access.js";
import type { HttpClusterClient } from "../../src/kube/http-client.js";
import type { KubeObject } from "../../src/kube/object.js";
import { HARNESS_FIELD_MANAGER, pollUntil, toKubeconfig } from "./kube.js";
import { crdDir } from "./paths.js";
import { createIssuer, createTrustAnchor, type CertKeyPair } from "./pki.js";
import {
  CRD_NAMES,
  type CrdName,
  controlPlaneObjects,
  controllerRoleObjects,
  gatewayObjects,
  gatewayStatus,
  namespaceObjects,
  remoteAccessObjects,
  remoteAccessTokenSecrets,
  sampleServiceObjects,
  type SeedParams,
} from "./seed-data.js";

export { CRD_NAMES, type CrdName } from "./seed-data.js";

export interface SeedOptions {
  /** Cluster name (default: the KubeConfig's current context). */
  clusterName?: string;
  /**
   * Trust anchor (certificate + key) that signs the issuer. Default: a fresh one
   * (returned in the result). Give a different anchor to seed a cluster that does
   * not share trust.
   */
  trustAnchor?: CertKeyPair;
  /** PEM written as the anchors bundle (linkerd-config, trust roots); default trustAnchor.certPem. */
  trustAnchorsPem?: string;
  /** Issuer certificate + key; default: a fresh one signed by trustAnchor (1 year). */
  issuer?: CertKeyPair;
  /** Issuer Secret scheme (default "linkerd.io/tls"). */
  issuerScheme?: "linkerd.io/tls" | "kubernetes.io/tls";
  /** Identity trust domain (default "cluster.local"). */
  trustDomain?: string;
  /** Cluster DNS domain (default "cluster.local"). */
  clusterDomain?: string;
  /** Linkerd version string, e.g. "edge-25.10.7" or "stable-2.18.0" (default "edge-25.10.7"). */
  linkerdVersion?: string;
  /**
   * Gateway load-balancer address(es) written into status (never contacted).
   * Default: 203.0.113.<n> (TEST-NET-3) with n from `index` or a hash of the name.
   */
  gatewayAddress?: string | string[];
  /** Index of the cluster in a set, used for the default gateway address. */
  index?: number;
  /** Install the gateway Service (default true). */
  gateway?: boolean;
  /** CRDs to install (default all of CRD_NAMES; [] for none). */
  crds?: readonly CrdName[];
  /** Remote-access ServiceAccounts (default ["linkerd-service-mirror-remote-access-default"]). */
  remoteAccessServiceAccounts?: string[];
  /** The chart's shared controller ClusterRole (default true, as `multicluster install` of 2.18+ renders it). */
  controllerRole?: boolean;
  /** Sample Services in emojivoto and test (default true). */
  sampleServices?: boolean;
  /** Field manager (default "linkerd-harness"). */
  fieldManager?: string;
  /** Wait for the token controller to fill the remote-access token Secret(s) (default true). */
  waitForTokens?: boolean;
  /** Bound for each wait (CRDs Established, tokens), ms (default 30000). */
  timeoutMs?: number;
}

export interface SeedResult {
  clusterName: string;
  trustAnchor: CertKeyPair;
  trustAnchorsPem: string;
  issuer: CertKeyPair;
  gatewayAddresses: string[];
  trustDomain: string;
  linkerdVersion: string;
  /** Number of objects applied (including status writes). */
  applied: number;
  ms: number;
}

export const DEFAULT_LINKERD_VERSION = "edge-25.10.7";

function defaultGatewayAddress(name: string, index?: number): string {
  if (index !== undefined) return `203.0.113.${10 + (index % 240)}`;
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `203.0.113.${10 + (h % 240)}`;
}

const crdCache = new Map<string, KubernetesObject>();

/** Reads test/harness/crds/<name>.yaml. */
export async function loadCrd(name: CrdName): Promise<KubernetesObject> {
  let crd = crdCache.get(name);
  if (!crd) {
    crd = parse(await readFile(path.join(crdDir, `${name}.yaml`), "utf8")) as KubernetesObject;
    if (crd.metadata?.name !== name) throw new Error(`${name}.yaml holds ${crd.metadata?.name}`);
    crdCache.set(name, crd);
  }
  return structuredClone(crd);
}

interface CrdStatus {
  status?: { conditions?: { type: string; status: string }[] };
}

/** Applies CRDs and waits until each is Established. */
export async function installCrds(
  kc: KubeConfig,
  names: readonly CrdName[],
  opts: { fieldManager?: string; linkerdVersion?: string; timeoutMs?: number } = {},
): Promise<void> {
  await withClient(kc, (client) => applyCrds(client, names, opts));
}

async function applyCrds(
  client: HttpClusterClient,
  names: readonly CrdName[],
  opts: { fieldManager?: string; linkerdVersion?: string; timeoutMs?: number },
): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      const crd = await loadCrd(name);
      if (opts.linkerdVersion && name.endsWith(".linkerd.io")) {
        crd.metadata!.annotations = {
          ...crd.metadata!.annotations,
          "linkerd.io/created-by": `linkerd/cli ${opts.linkerdVersion}`,
        };
      }
      await client.apply(crd as KubeObject, { fieldManager: opts.fieldManager ?? HARNESS_FIELD_MANAGER, force: true });
    }),
  );
  await Promise.all(
    names.map((name) =>
      pollUntil(
        `CRD ${name} Established`,
        async () => {
          const crd = (await client.get({
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            name,
          })) as CrdStatus | undefined;
          return crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
        },
        opts.timeoutMs ?? 30_000,
        50,
      ),
    ),
  );
}

/** Runs `fn` with crosslink's cluster client for `kc`'s current context, closing it afterwards. */
async function withClient<T>(kc: KubeConfig, fn: (client: HttpClusterClient) => Promise<T>): Promise<T> {
  const context = kc.getCurrentContext();
  const client = clientForContext(toKubeconfig(kc), context, context, {
    attempts: 4,
    baseDelayMs: 200,
    timeoutMs: 30_000,
  });
  if (!client) throw new Error(`kubeconfig has no context ${context}`);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** Resolves options to the template parameters (generating the PKI when not given). */
export async function seedParams(
  kc: KubeConfig,
  opts: SeedOptions = {},
): Promise<SeedParams & { trustAnchor: CertKeyPair }> {
  const clusterName = opts.clusterName ?? kc.getCurrentContext();
  const trustDomain = opts.trustDomain ?? "cluster.local";
  const trustAnchor = opts.trustAnchor ?? (await createTrustAnchor());
  const issuer = opts.issuer ?? (await createIssuer(trustAnchor, { commonName: `identity.linkerd.${trustDomain}` }));
  const gw = opts.gatewayAddress ?? defaultGatewayAddress(clusterName, opts.index);
  return {
    clusterName,
    trustDomain,
    clusterDomain: opts.clusterDomain ?? "cluster.local",
    linkerdVersion: opts.linkerdVersion ?? DEFAULT_LINKERD_VERSION,
    trustAnchor,
    trustAnchorsPem: opts.trustAnchorsPem ?? trustAnchor.certPem,
    issuer,
    issuerScheme: opts.issuerScheme ?? "linkerd.io/tls",
    gatewayAddresses: Array.isArray(gw)
      ? gw
      : gw
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
    remoteAccessServiceAccounts: opts.remoteAccessServiceAccounts ?? ["linkerd-service-mirror-remote-access-default"],
    gateway: opts.gateway ?? true,
    sampleServices: opts.sampleServices ?? true,
    controllerRole: opts.controllerRole ?? true,
  };
}

interface SecretLike {
  data?: Record<string, string>;
}

/**
 * Seeds the cluster behind `kc`'s current context. Phases: CRDs (wait
 * Established) → namespaces → control plane, remote access, gateway, sample
 * Services → token Secrets and the gateway's status → wait for tokens.
 */
export async function seedCluster(kc: KubeConfig, opts: SeedOptions = {}): Promise<SeedResult> {
  const p = await seedParams(kc, opts);
  return withClient(kc, (client) => seedWith(client, p, opts));
}

async function seedWith(
  client: HttpClusterClient,
  p: SeedParams & { trustAnchor: CertKeyPair },
  opts: SeedOptions,
): Promise<SeedResult> {
  const t0 = Date.now();
  const fieldManager = opts.fieldManager ?? HARNESS_FIELD_MANAGER;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let applied = 0;
  const applyAll = async (objs: KubernetesObject[], subresource?: "status") => {
    await Promise.all(
      objs.map((o) =>
        client.apply(o as KubeObject, { fieldManager, force: true, ...(subresource ? { subresource } : {}) }),
      ),
    );
    applied += objs.length;
  };

  const crds = opts.crds ?? CRD_NAMES;
  await Promise.all([
    applyCrds(client, crds, { fieldManager, linkerdVersion: p.linkerdVersion, timeoutMs }).then(() => {
      applied += crds.length;
    }),
    applyAll(namespaceObjects(p)),
  ]);
  await applyAll([
    ...controlPlaneObjects(p),
    ...remoteAccessObjects(p),
    ...controllerRoleObjects(p),
    ...gatewayObjects(p),
    ...sampleServiceObjects(p),
  ]);
  // The token controller deletes token Secrets whose ServiceAccount is missing,
  // so these go after the ServiceAccounts.
  const tokens = remoteAccessTokenSecrets(p);
  await Promise.all([applyAll(tokens), applyAll(gatewayStatus(p), "status")]);
  if (opts.waitForTokens ?? true) {
    await Promise.all(
      tokens.map((t) =>
        pollUntil(
          `token in Secret ${t.metadata!.namespace}/${t.metadata!.name}`,
          async () => {
            const s = (await client.get({
              apiVersion: "v1",
              kind: "Secret",
              namespace: t.metadata!.namespace!,
              name: t.metadata!.name!,
            })) as SecretLike | undefined;
            return Boolean(s?.data?.token);
          },
          timeoutMs,
          50,
        ),
      ),
    );
  }
  return {
    clusterName: p.clusterName,
    trustAnchor: p.trustAnchor,
    trustAnchorsPem: p.trustAnchorsPem,
    issuer: p.issuer,
    gatewayAddresses: p.gatewayAddresses,
    trustDomain: p.trustDomain,
    linkerdVersion: p.linkerdVersion,
    applied,
    ms: Date.now() - t0,
  };
}
