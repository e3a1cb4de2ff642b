/**
 * The `servers.policy.linkerd.io` CRD Linkerd's destination ClusterStore reads in
 * a target cluster, taken from `linkerd install --crds --ignore-cluster` (the
 * harness does not seed it yet) and installed when the cluster lacks it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/kube/object.js";
import type { ClusterClient } from "../../src/kube/port.js";
import { pollUntil } from "../harness/kube.js";
import type { LinkerdTools } from "./tools.js";

const run = promisify(execFile);
const NAME = "servers.policy.linkerd.io";
const CRD_API = "apiextensions.k8s.io/v1";

/** Installs Linkerd's servers CRD in the cluster unless it is there; true when it was installed. */
export async function ensureServersCrd(tools: LinkerdTools, client: ClusterClient): Promise<boolean> {
  if (await client.get({ apiVersion: CRD_API, kind: "CustomResourceDefinition", name: NAME })) return false;
  const { stdout } = await run(tools.linkerd, ["install", "--crds", "--ignore-cluster"], {
    timeout: 60_000,
    maxBuffer: 64 << 20,
    env: { ...process.env, HTTPS_PROXY: "http://127.0.0.1:9" },
  });
  const crd = parseAllDocuments(stdout)
    .map((d) => d.toJS() as KubeObject | null)
    .find((o) => o?.kind === "CustomResourceDefinition" && o.metadata.name === NAME);
  if (!crd) throw new Error(`linkerd install --crds rendered no ${NAME}`);
  await client.apply(crd, { fieldManager: "linkerd-cli", force: true });
  await pollUntil(
    `CRD ${NAME} Established`,
    async () => {
      const live = (await client.get({ apiVersion: CRD_API, kind: "CustomResourceDefinition", name: NAME })) as
        { status?: { conditions?: { type: string; status: string }[] } } | undefined;
      return live?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    },
    30_000,
    100,
  );
  return true;
}
