/**
 * import's I/O edge: reads one cluster through the kube access port. Only
 * GETs and LISTs; nothing is written (the import test counts the writes).
 */
import type { ClusterClient } from "../kube/port.js";
import type { KubeObject } from "../kube/object.js";
import { LINK_GROUP } from "../kube/kinds.js";
import { EXPORT_LABELS } from "../extensions/export-modes.js";
import { SPLIT_APIS } from "../extensions/split-apis.js";
import { CREDENTIALS_SECRET_TYPE, gatewayFacts, parseLinkerdConfig } from "../engine/observe.js";
import { CLUSTER_NAME_LABEL, MIRRORED_SERVICE_LABEL } from "../engine/names.js";
import type { LiveCluster } from "./live.js";

/** Where Linkerd and its multicluster extension live (Linkerd's defaults unless told). */
export interface ReadOptions {
  linkerdNamespace: string;
  multiclusterNamespace: string;
}

/** Linkerd's default namespaces. */
export const DEFAULT_READ_OPTIONS: ReadOptions = {
  linkerdNamespace: "linkerd",
  multiclusterNamespace: "linkerd-multicluster",
};

/** Reads what import needs from one cluster (throws when the cluster cannot be read). */
export async function readCluster(
  context: string,
  client: ClusterClient,
  opts: ReadOptions = DEFAULT_READ_OPTIONS,
): Promise<LiveCluster> {
  const linkVersion = (await client.servedVersions(LINK_GROUP))[0];
  const routeApis = (
    await Promise.all(
      SPLIT_APIS.map(async (a) => {
        const served = await client.servedVersions(a.group);
        const v = a.versions.find((x) => served.includes(x)) ?? served[0];
        return v ? `${a.group}/${v}|${a.kind}` : undefined;
      }),
    )
  ).filter((x): x is string => x !== undefined);
  const [config, roots, gateway, links, credentials, exported, mirrors, controllers, routes] = await Promise.all([
    client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: opts.linkerdNamespace, name: "linkerd-config" }),
    client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: opts.linkerdNamespace,
      name: "linkerd-identity-trust-roots",
    }),
    client.get({ apiVersion: "v1", kind: "Service", namespace: opts.multiclusterNamespace, name: "linkerd-gateway" }),
    linkVersion ? client.list(`${LINK_GROUP}/${linkVersion}`, "Link") : Promise.resolve([]),
    client.list("v1", "Secret", { fieldSelector: `type=${CREDENTIALS_SECRET_TYPE}` }),
    Promise.all(EXPORT_LABELS.map((label) => client.list("v1", "Service", { labelSelector: label }))),
    client.list("v1", "Service", { labelSelector: `${MIRRORED_SERVICE_LABEL}=true` }),
    client.list("apps/v1", "Deployment", { labelSelector: CLUSTER_NAME_LABEL }),
    Promise.all(
      routeApis.map((r) => {
        const [apiVersion, kind] = r.split("|") as [string, string];
        return client.list(apiVersion, kind);
      }),
    ),
  ]);
  const live: LiveCluster = {
    context,
    server: client.server,
    links,
    credentials,
    exported: dedupe(exported.flat()),
    mirrors,
    controllers,
    routes: routes.flat(),
  };
  if (client.caPem) live.caPem = client.caPem;
  const linkerd = config && parseLinkerdConfig(config);
  if (linkerd) live.linkerd = linkerd;
  const pem = (roots?.data as Record<string, string> | undefined)?.["ca-bundle.crt"];
  if (pem) live.trustRootsPem = pem;
  if (gateway) live.gateway = gatewayFacts(gateway);
  return live;
}

function dedupe(objects: KubeObject[]): KubeObject[] {
  const seen = new Map<string, KubeObject>();
  for (const o of objects) seen.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
  return [...seen.values()];
}
