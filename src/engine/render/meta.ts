/** Small builders shared by the renderers. */
import type { KubeObject } from "../../kube/object.js";
import { EXTENSION_LABELS, LINK_LABEL, ownerLabels } from "../names.js";

/**
 * An owned object: owner labels merged under the given labels, optional
 * namespace and annotations. `extra.extension` adds `linkerd.io/extension:
 * multicluster`, as Linkerd's chart and `allow` label their objects (`link-gen`
 * does not label the Link and credentials).
 */
export function owned(
  topology: string,
  apiVersion: string,
  kind: string,
  name: string,
  namespace: string | undefined,
  body: Record<string, unknown>,
  extra: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    link?: string;
    extension?: boolean;
  } = {},
): KubeObject {
  const labels = {
    ...(extra.extension ? EXTENSION_LABELS : {}),
    ...extra.labels,
    ...ownerLabels(topology),
    ...(extra.link ? { [LINK_LABEL]: extra.link } : {}),
  };
  const metadata: KubeObject["metadata"] = { name, labels };
  if (namespace) metadata.namespace = namespace;
  if (extra.annotations && Object.keys(extra.annotations).length) metadata.annotations = extra.annotations;
  return { apiVersion, kind, metadata, ...body };
}

/** Base64 of a UTF-8 string, for Secret data. */
export function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
