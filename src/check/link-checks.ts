/**
 * The checks of one link (pure): its Link matches what crosslink renders (the
 * plan has no change for it), its credentials exist, authenticate against the
 * target and may do exactly what the mirror needs, with time left on the
 * token; a managed controller's Deployment is as rendered; a mirror
 * controller holds the link's Lease; the Link's status shows every export
 * mirrored.
 */
import type { ClusterFacts } from "../engine/facts.js";
import { actionRef, type Action, type ClusterPlan } from "../engine/plan/actions.js";
import { formatSeconds } from "../engine/render/credentials.js";
import { exportModeInfo } from "../extensions/export-modes.js";
import { groupOf } from "../kube/object.js";
import type { AccessQuestion } from "../kube/port.js";
import { LINK_GROUP } from "../kube/kinds.js";
import { linkNames } from "../engine/names.js";
import { actionSymbol, actionTitle } from "../report/summary.js";
import { showChange } from "../report/values.js";
import type { Cluster, Topology } from "../topology/types.js";
import { ok, problem, type CheckOptions, type CheckResult, type LinkFacts } from "./types.js";

/** What a service mirror must be allowed to do in its target (list and watch what it mirrors). */
export const MIRROR_NEEDS: readonly AccessQuestion[] = [
  { verb: "list", group: "", resource: "services" },
  { verb: "watch", group: "", resource: "services" },
  { verb: "list", group: "", resource: "endpoints" },
  { verb: "watch", group: "", resource: "endpoints" },
  { verb: "list", group: "discovery.k8s.io", resource: "endpointslices" },
  { verb: "watch", group: "discovery.k8s.io", resource: "endpointslices" },
];

/** What a link's credentials must not be allowed to do in the target. */
export const MIRROR_MUST_NOT: readonly AccessQuestion[] = [
  { verb: "get", group: "", resource: "secrets" },
  { verb: "list", group: "", resource: "secrets" },
];

/** Every access review the edge makes with a link's credentials. */
export const ACCESS_QUESTIONS: readonly AccessQuestion[] = [...MIRROR_NEEDS, ...MIRROR_MUST_NOT];

/** `list services`, `watch endpointslices.discovery.k8s.io`. */
export function describeAccess(q: AccessQuestion): string {
  return `${q.verb} ${q.group ? `${q.resource}.${q.group}` : q.resource}`;
}

/** An action as the lines diff prints for it (changed fields redacted when sensitive). */
export function describeAction(a: Action): string {
  const lines = [`${actionSymbol(a)} ${actionTitle(a)}  (${a.reason})`];
  if (a.type === "update" || a.type === "replace") for (const c of a.changes) lines.push(`    ${showChange(c)}`);
  return lines.join("\n");
}

/** The plan's actions on one object of a cluster. */
function actionsOn(cp: ClusterPlan, kind: string, group: string, namespace: string, name: string): Action[] {
  return cp.actions.filter((a) => {
    const r = actionRef(a);
    return r.kind === kind && groupOf(r.apiVersion) === group && r.name === name && (r.namespace ?? "") === namespace;
  });
}

/** Every check of one link whose source was observed. */
export function linkChecks(
  topology: Topology,
  lf: LinkFacts,
  fromPlan: ClusterPlan,
  fromFacts: ClusterFacts,
  now: Date,
  opts: CheckOptions,
): CheckResult[] {
  const { link } = lf;
  const category = `link ${link.from}→${link.to}`;
  const from = topology.clusters.find((c) => c.name === link.from)!;
  const names = linkNames(link.from, link.to);
  const out: CheckResult[] = [];

  const linkActions = actionsOn(fromPlan, "Link", LINK_GROUP, from.multiclusterNamespace, names.link);
  const linkTitle = `Link ${from.multiclusterNamespace}/${names.link} matches the topology`;
  out.push(
    linkActions.length
      ? problem(
          category,
          linkTitle,
          "XL911",
          linkActions.map(describeAction).join("\n"),
          "run `crosslink diff` to review and `crosslink apply` to restore it",
        )
      : lf.linkObject
        ? ok(category, linkTitle)
        : problem(category, linkTitle, "XL911", `no Link ${names.link} in ${link.from}`, "run `crosslink apply`"),
  );
  out.push(...credentialChecks(category, lf));
  if (link.controller === "managed") out.push(controllerCheck(category, from, fromPlan, fromFacts, names.controller));
  out.push(leaseCheck(category, lf, from, now, opts));
  const status = statusCheck(category, topology, lf);
  if (status) out.push(status);
  return out;
}

function credentialChecks(category: string, lf: LinkFacts): CheckResult[] {
  const { link, credentials: c } = lf;
  const out: CheckResult[] = [];
  const missing = c.secrets.filter((s) => !s.present);
  const secretsTitle = "credential Secrets exist and hold a token";
  const restore = "run `crosslink apply`: it issues new credentials";
  if (missing.length) {
    out.push(
      problem(
        category,
        secretsTitle,
        "XL912",
        missing.map((s) => `Secret ${s.namespace}/${s.name} not found in ${link.from}`).join("\n"),
        restore,
      ),
    );
  } else if (!c.hasToken) {
    out.push(problem(category, secretsTitle, "XL912", "the Secret's kubeconfig holds no token", restore));
  } else {
    out.push(ok(category, secretsTitle));
  }
  if (!missing.length) {
    const copiesTitle = "both credential Secrets hold the same kubeconfig";
    out.push(
      c.copiesAgree
        ? ok(category, copiesTitle)
        : problem(
            category,
            copiesTitle,
            "XL918",
            c.secrets.map((s) => `${s.namespace}/${s.name}`).join(" and ") + " differ",
            "run `crosslink apply`; it writes both (the Linkerd-namespace copy is deleted and created again on rotation)",
          ),
    );
  }
  if (!c.hasToken) return out;

  const timeTitle = "the token has time left";
  const left = c.tokenSecondsLeft;
  if (left === null || left === undefined) out.push(ok(category, timeTitle, "no expiry (a long-lived token)"));
  else if (left <= 0) out.push(problem(category, timeTitle, "XL916", `expired ${formatSeconds(-left)} ago`, restore));
  else if (left < link.credentials.ttlSeconds / 4)
    out.push(
      problem(
        category,
        timeTitle,
        "XL917",
        `${formatSeconds(left)} left of a ${formatSeconds(link.credentials.ttlSeconds)} TTL (renewal is due at half)`,
        "run `crosslink apply`, or check that the crosslink daemon is running",
      ),
    );
  else out.push(ok(category, timeTitle, `${formatSeconds(left)} left`));

  const authTitle = `the credentials authenticate against ${link.to}`;
  if (!c.probe) return out;
  if (!c.probe.authenticated) {
    out.push(
      problem(
        category,
        authTitle,
        "XL913",
        c.probe.error,
        `the token was revoked, its ServiceAccount deleted, or ${link.to}'s API server changed (or its address in the kubeconfig is not reachable from where check runs); ${restore}`,
      ),
    );
    return out;
  }
  out.push(ok(category, authTitle, c.server ? `as seen at ${c.server}` : undefined));
  const allowed = (q: AccessQuestion) =>
    c.probe!.authenticated &&
    c.probe!.access.some((a) => a.verb === q.verb && a.group === q.group && a.resource === q.resource && a.allowed);
  const denied = MIRROR_NEEDS.filter((q) => !allowed(q));
  const needTitle = "the credentials may list and watch Services, Endpoints and EndpointSlices";
  out.push(
    denied.length
      ? problem(
          category,
          needTitle,
          "XL914",
          `denied: ${denied.map(describeAccess).join(", ")}`,
          `bind the remote-access ServiceAccount to the ClusterRole crosslink renders in ${link.to} (\`crosslink apply\`)`,
        )
      : ok(category, needTitle),
  );
  const excess = MIRROR_MUST_NOT.filter(allowed);
  const secretTitle = "the credentials may not read Secrets";
  out.push(
    excess.length
      ? problem(
          category,
          secretTitle,
          "XL915",
          `allowed: ${excess.map(describeAccess).join(", ")} in ${link.to}`,
          `remove the extra binding or role rule that grants the remote-access ServiceAccount access to Secrets in ${link.to}`,
        )
      : ok(category, secretTitle),
  );
  return out;
}

function controllerCheck(
  category: string,
  from: Cluster,
  fromPlan: ClusterPlan,
  fromFacts: ClusterFacts,
  name: string,
): CheckResult {
  const title = `controller Deployment ${from.multiclusterNamespace}/${name} is as rendered`;
  const live = fromFacts.owned.find(
    (o) => o.kind === "Deployment" && o.metadata.name === name && o.metadata.namespace === from.multiclusterNamespace,
  );
  if (!live) return problem(category, title, "XL921", `no Deployment ${name} in ${from.name}`, "run `crosslink apply`");
  const actions = actionsOn(fromPlan, "Deployment", "apps", from.multiclusterNamespace, name);
  return actions.length
    ? problem(category, title, "XL922", actions.map(describeAction).join("\n"), "run `crosslink apply` to roll it")
    : ok(category, title);
}

function leaseCheck(category: string, lf: LinkFacts, from: Cluster, now: Date, opts: CheckOptions): CheckResult {
  const name = `service-mirror-write-${lf.link.to}`;
  const title = `a mirror controller holds Lease ${from.multiclusterNamespace}/${name}`;
  const hint =
    lf.link.controller === "managed"
      ? `check the pods of Deployment controller-${lf.link.to} in ${from.name} (logs, image pull, credentials)`
      : `start the link's service-mirror controller in ${from.name} (this link's controller is external)`;
  if (!lf.lease) return problem(category, title, "XL923", "no Lease: no mirror controller has run for this link", hint);
  const spec = (lf.lease.spec ?? {}) as { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
  if (!spec.holderIdentity) return problem(category, title, "XL923", "the Lease is released: no holder", hint);
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  const duration = spec.leaseDurationSeconds ?? 15;
  if (!Number.isFinite(renewed)) return problem(category, title, "XL923", "the Lease has no renewTime", hint);
  const age = Math.round((now.getTime() - renewed) / 1000);
  if (age > duration + opts.leaseSlackSeconds)
    return problem(
      category,
      title,
      "XL923",
      `last renewed ${formatSeconds(age)} ago by ${spec.holderIdentity} (lease duration ${duration}s): the controller is not running`,
      hint,
    );
  return ok(category, title, `held by ${spec.holderIdentity}, renewed ${Math.max(0, age)}s ago`);
}

/** The Link's status entries, by `namespace/name` of the remote Service. */
interface StatusEntry {
  remoteRef?: { name?: string; namespace?: string };
  conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
}

function statusCheck(category: string, topology: Topology, lf: LinkFacts): CheckResult | undefined {
  if (!lf.linkObject || lf.linkObject.apiVersion.endsWith("/v1alpha1")) return undefined;
  const status = (lf.linkObject.status ?? {}) as { mirrorServices?: StatusEntry[]; federatedServices?: StatusEntry[] };
  const title = "the Link's status shows every export mirrored";
  const wrong: string[] = [];
  let expected = 0;
  for (const e of topology.exports) {
    if (e.cluster !== lf.link.to) continue;
    const entries = (exportModeInfo(e.mode).federated ? status.federatedServices : status.mirrorServices) ?? [];
    for (const svc of e.services) {
      expected++;
      const entry = entries.find((x) => x.remoteRef?.name === svc && x.remoteRef?.namespace === e.namespace);
      const cond = entry?.conditions?.find((c) => c.type === "Mirrored");
      if (!entry) wrong.push(`${e.namespace}/${svc}: not in the status`);
      else if (cond?.status !== "True")
        wrong.push(
          `${e.namespace}/${svc}: ${cond ? `${cond.reason ?? "not mirrored"}: ${cond.message ?? ""}` : "no Mirrored condition"}`.trim(),
        );
    }
  }
  if (!expected) return undefined;
  return wrong.length
    ? problem(
        category,
        title,
        "XL924",
        wrong.join("\n"),
        "the controller has not caught up or could not mirror: read its log",
      )
    : ok(category, title, `${expected} export(s)`);
}
