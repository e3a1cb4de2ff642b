/**
 * What `crosslink check` works on and produces. The facts are plain data read
 * at the edge (gather.ts); the checks (rules in this directory) are pure
 * functions of them, so every rule runs in unit tests without a server. No
 * fact holds a token or a key: the credentials are reduced to what was learnt
 * with them before the facts are built.
 */
import type { ClusterObservation } from "../engine/facts.js";
import type { Plan } from "../engine/plan/actions.js";
import type { KubeObject } from "../kube/object.js";
import type { AccessQuestion } from "../kube/port.js";
import type { Link, Topology } from "../topology/types.js";
import { CHECK_WARNINGS, type CheckCode } from "./codes.js";

/** The outcome of one check: ✓ ok, ‼ warn, × fail. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One check's result. */
export interface CheckResult {
  /** Where it belongs: `cluster east`, `link west→east`, `trust`, `splits`. */
  category: string;
  /** What was checked, as a statement that holds when it passes. */
  title: string;
  status: CheckStatus;
  /** Set when the check warns or fails. */
  code?: CheckCode;
  /** What was found (one or more lines). */
  detail?: string;
  hint?: string;
}

/** An access review's question and what the server answered with the link's credentials. */
export interface AccessResult extends AccessQuestion {
  allowed: boolean;
}

/** What the edge learnt with a link's credentials (never the token itself). */
export interface CredentialFacts {
  /** Per credential Secret (multicluster namespace, Linkerd namespace): whether it exists. */
  secrets: { namespace: string; name: string; present: boolean }[];
  /** False when both Secrets exist but hold different kubeconfigs. */
  copiesAgree: boolean;
  /** Whether the multicluster-namespace Secret holds a kubeconfig with a token. */
  hasToken: boolean;
  /** Seconds until the token's `exp`; null when it has none (a long-lived token). */
  tokenSecondsLeft?: number | null;
  /** The API server the kubeconfig names. */
  server?: string;
  /** Set when requests with the token could be made: whether the server accepted it, and the reviews' answers. */
  probe?: { authenticated: true; access: AccessResult[] } | { authenticated: false; error: string };
}

/** Extra facts of one link, read in its source cluster and (with its credentials) in its target. */
export interface LinkFacts {
  link: Link;
  /** The Link as it is in the source (with the status the controller writes); undefined: missing. */
  linkObject?: KubeObject;
  /** The controller's leader-election Lease `service-mirror-write-<link>`; undefined: none. */
  lease?: KubeObject;
  credentials: CredentialFacts;
}

/** Everything the checks look at. */
export interface CheckFacts {
  topology: Topology;
  now: Date;
  /** observe's result per cluster (what diff sees). */
  observations: ClusterObservation[];
  /** The plan of those observations (what diff would print). */
  plan: Plan;
  /** Endpoints read per cluster, by `namespace/name`. */
  endpoints: ReadonlyMap<string, ReadonlyMap<string, KubeObject>>;
  /** Per link, keyed `from→to`. */
  links: ReadonlyMap<string, LinkFacts>;
  /** Clusters whose reads beyond observe failed, with the error. */
  readErrors: ReadonlyMap<string, string>;
}

/** Thresholds of the checks. */
export interface CheckOptions {
  /** Anchors and issuers valid for fewer days than this warn (Linkerd's `linkerd check` uses 60). */
  certWarnDays: number;
  /** A Lease renewed longer ago than its duration plus this slack counts as stale. */
  leaseSlackSeconds: number;
}

/** The defaults (those of `linkerd check` where it has one). */
export const CHECK_DEFAULTS: CheckOptions = { certWarnDays: 60, leaseSlackSeconds: 5 };

/** The key of a link in `CheckFacts.links`. */
export function linkKey(link: Pick<Link, "from" | "to">): string {
  return `${link.from}→${link.to}`;
}

/** A passing check. */
export function ok(category: string, title: string, detail?: string): CheckResult {
  return { category, title, status: "ok", ...(detail ? { detail } : {}) };
}

/** A check that warns or fails, by its code (CHECK_WARNINGS says which). */
export function problem(category: string, title: string, code: CheckCode, detail: string, hint?: string): CheckResult {
  return {
    category,
    title,
    status: CHECK_WARNINGS.has(code) ? "warn" : "fail",
    code,
    detail,
    ...(hint ? { hint } : {}),
  };
}
