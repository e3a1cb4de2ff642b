/** Rules on splits: references resolve, remote backends are linked and exported, weights make sense. */
import { mirrorName } from "../../names/index.js";
import { checkClusterRef, type Rule } from "./context.js";
import { exportKey, indexExports, MAX_NAME } from "./exports.js";

/** Reports every problem of the splits: unresolved clusters, unreachable remote backends, duplicates and zero weights. */
export const splitRules: Rule = (ctx) => {
  if (!ctx.draft.splits.length) return; // the indexes below cost a large topology's exports a pass each
  const exportsAt = indexExports(ctx);
  const links = new Set<string>();
  for (const l of ctx.draft.links) if (l.from !== undefined && l.to !== undefined) links.add(`${l.from}\u0000${l.to}`);
  const namespacesOf = new Map<string, string[]>();
  for (const e of ctx.draft.exports) {
    if (e.cluster === undefined || e.namespace === undefined) continue;
    for (const s of e.services) {
      const k = `${e.cluster}\u0000${s.name}`;
      const l = namespacesOf.get(k);
      if (!l) namespacesOf.set(k, [e.namespace]);
      else if (!l.includes(e.namespace) && l.length < 5) l.push(e.namespace);
    }
  }
  const splitSeen = new Map<string, number>();

  for (const s of ctx.draft.splits) {
    const base = `/spec/splits/${s.index}`;
    const clusterOk = checkClusterRef(ctx, s.cluster, `${base}/cluster`, "split cluster");
    if (s.cluster !== undefined && s.namespace !== undefined && s.service !== undefined) {
      const key = exportKey(s.cluster, s.namespace, s.service);
      const prev = splitSeen.get(key);
      if (prev !== undefined)
        ctx.report(
          "XL212",
          `${base}/service`,
          `service \`${s.namespace}/${s.service}\` in cluster \`${s.cluster}\` is already split by spec.splits[${prev}]`,
          "merge the two splits' backends into one entry",
        );
      else splitSeen.set(key, s.index);
    }

    const backendSeen = new Map<string, number>();
    for (const b of s.backends) {
      const bp = `${base}/backends/${b.index}`;
      let remote = b.cluster;
      if (remote !== undefined && remote === s.cluster) {
        ctx.report(
          "XL210",
          `${bp}/cluster`,
          `backend names the split's own cluster \`${remote}\`; it is treated as the local service \`${b.service ?? "?"}\``,
          "drop `cluster:` for a local backend; give another cluster's name for a remote one",
          "warning",
        );
        remote = undefined;
      }
      if (b.service !== undefined) {
        const key = `${remote ?? ""}\u0000${b.service}`;
        const prev = backendSeen.get(key);
        if (prev !== undefined) {
          ctx.report(
            "XL209",
            bp,
            `backend \`${b.service}\`${remote ? ` of cluster \`${remote}\`` : ""} is listed twice in this split (first as backends[${prev}])`,
            "list each backend once and add up its weights",
          );
          continue;
        }
        backendSeen.set(key, b.index);
      }
      if (remote === undefined) continue;
      if (!checkClusterRef(ctx, remote, `${bp}/cluster`, "backend cluster")) continue;
      if (clusterOk && s.cluster !== undefined && !links.has(`${s.cluster}\u0000${remote}`)) {
        ctx.report(
          "XL206",
          `${bp}/cluster`,
          `remote backend in \`${remote}\` needs a link from \`${s.cluster}\` to \`${remote}\`, and there is none`,
          `add to spec.links: { from: ${s.cluster}, to: ${remote} }`,
        );
      }
      if (b.service === undefined || s.namespace === undefined) continue;
      const site = exportsAt.get(exportKey(remote, s.namespace, b.service));
      if (!site) {
        const elsewhere = namespacesOf.get(`${remote}\u0000${b.service}`);
        ctx.report(
          "XL207",
          `${bp}/service`,
          `remote backend \`${s.namespace}/${b.service}\` is not exported from cluster \`${remote}\``,
          elsewhere
            ? `\`${b.service}\` is exported from \`${remote}\` in namespace ${elsewhere.join(", ")}; a split and its backends share one namespace`
            : `add to spec.exports: { cluster: ${remote}, namespace: ${s.namespace}, services: [${b.service}] }`,
        );
        const mirror = mirrorName(b.service, remote, false);
        if (mirror.length > MAX_NAME)
          ctx.report(
            "XL211",
            `${bp}/service`,
            `mirror service name \`${mirror}\` is ${mirror.length} characters, more than ${MAX_NAME}`,
            "shorten the service or cluster name; Kubernetes rejects longer Service names",
          );
      }
    }

    if (s.backendsGiven && s.backends.length > 0 && s.backends.every((b) => b.weight !== undefined)) {
      const sum = s.backends.reduce((n, b) => n + (b.weight ?? 0), 0);
      if (sum === 0)
        ctx.report(
          "XL208",
          `${base}/backends`,
          "every backend of this split has weight 0, so the traffic has nowhere to go",
          "give at least one backend a positive weight",
          "error",
          "key",
        );
    }
  }
};
