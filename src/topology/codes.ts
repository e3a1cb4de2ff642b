/**
 * The stable diagnostic codes of the topology stage. XL1xx: the file, YAML and
 * the schema; XL2xx: names, references and semantic rules; XL3xx: trust anchors.
 * Codes never change meaning once released; docs/diagnostics.md lists them.
 */

/** Every topology diagnostic code with a one-line meaning (the docs are checked against this table). */
export const CODES = {
  XL100: "the topology file cannot be read",
  XL101: "the file is not text (binary bytes or invalid UTF-8)",
  XL102: "the file is larger than the loader accepts",
  XL103: "the file is empty or holds only comments",
  XL104: "YAML syntax error",
  XL105: "a mapping has the same key twice",
  XL106: "YAML alias expansion exceeds the limit (alias bomb)",
  XL107: "the file holds more than one YAML document",
  XL108: "YAML warning (e.g. an unresolved tag)",
  XL109: "lists and mappings are nested deeper than the loader accepts",
  XL110: "unknown field",
  XL111: "required field missing",
  XL112: "wrong type",
  XL113: "value is not one of the allowed values",
  XL114: "value does not have the required form (DNS label, URL, duration, …)",
  XL115: "value outside its bounds (empty list, port range, negative number, …)",
  XL116: "a trust anchor needs exactly one of `file` or `pem`",
  XL117: "a list holds the same item twice",
  XL200: "two clusters have the same name",
  XL201: "two trust anchors have the same name",
  XL202: "reference to a cluster that is not declared",
  XL203: "a link from a cluster to itself",
  XL204: "the same link is declared twice",
  XL205: "a service is exported more than once from the same cluster and namespace",
  XL206: "a remote split backend has no link from the split's cluster to the backend's cluster",
  XL207: "a remote split backend's service is not exported from the backend's cluster",
  XL208: "a split's weights sum to zero",
  XL209: "a split lists the same backend twice",
  XL210: "a split backend names the split's own cluster (treated as local)",
  XL211: "a mirror service name is longer than 63 characters",
  XL212: "the same service is split twice in one cluster and namespace",
  XL213: "credentials ttl is shorter than Kubernetes allows for a token request (10m)",
  XL214: "credentials ttl is ignored with mode service-account-token",
  XL215: "services are exported from a cluster no link targets",
  XL216: "two clusters use the same kubeconfig context",
  XL217: "a name or label value crosslink derives is longer than Kubernetes accepts",
  XL300: "a trust anchor file is missing or unreadable",
  XL301: "a trust anchor is not a PEM X.509 certificate",
  XL302: "a trust anchor is not a CA certificate",
  XL303: "a trust anchor has expired",
  XL304: "a trust anchor is not valid yet",
  XL305: "a trust anchor uses a key or signature algorithm Linkerd rejects",
  XL306: "a trust anchor expires within 60 days",
  XL307: "a trust anchor holds a private key",
  XL308: "the same certificate appears in two trust anchors",
  XL309: "a trust anchor file is outside the topology's root directory",
  XL310: "more than one trust anchor has `role: next`, or every anchor has it",
  XL199: "internal error while validating (a crosslink bug)",
} as const;

/** A topology diagnostic code, e.g. `"XL202"`. */
export type Code = keyof typeof CODES;
