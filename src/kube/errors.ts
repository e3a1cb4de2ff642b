/** Typed errors of the Kubernetes edge, with literal codes and the object first in the message. */
import { CrosslinkError, definedData } from "../errors.js";

/** Codes of errors raised while talking to a cluster. */
export type KubeErrorCode =
  | "KUBE_CONTEXT_MISSING"
  | "KUBE_UNREACHABLE"
  | "KUBE_HTTP"
  | "KUBE_NOT_FOUND"
  | "KUBE_CONFLICT"
  | "KUBE_APPLY_CONFLICT"
  | "KUBE_FORBIDDEN"
  | "KUBE_INVALID"
  | "KUBE_TIMEOUT"
  /** 410 Gone: a watch's resourceVersion is too old (compacted); list again. */
  | "KUBE_GONE"
  /** The call was cancelled (lost Lease, shutdown) or refused unsent by the write fence. */
  | "KUBE_ABORTED";

/** An error from one cluster's API server (or from reaching it); `data` holds cluster, status and retryAfterMs. */
export class KubeError extends CrosslinkError<KubeErrorCode> {
  /** Creates an error; the message names the object first. */
  constructor(
    code: KubeErrorCode,
    message: string,
    readonly cluster: string,
    readonly status?: number,
    /** What the server asked for in `Retry-After` (429/503), in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(code, message, { data: definedData({ cluster, status, retryAfterMs }) });
    this.name = "KubeError";
  }
}

/**
 * Whether an error is worth retrying: throttling (429), server errors (5xx),
 * optimistic-concurrency conflicts, timeouts and connection failures. A
 * server-side apply field-manager conflict is final: retrying cannot help.
 */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof KubeError)) return false;
  switch (err.code) {
    case "KUBE_UNREACHABLE":
    case "KUBE_TIMEOUT":
    case "KUBE_CONFLICT":
      return true;
    case "KUBE_HTTP":
      return err.status === 429 || (err.status ?? 0) >= 500;
    default:
      return false;
  }
}
