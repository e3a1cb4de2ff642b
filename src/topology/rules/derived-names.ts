/**
 * Rule: every name and label value crosslink derives from the topology fits
 * Kubernetes' limit for it (the table is `LINK_NAME_TABLE` in src/names,
 * the one place render takes names from). Reported on the name that makes
 * the derived one too long.
 */
import {
  LINK_NAME_TABLE,
  NAME_LIMITS,
  fitsLimit,
  splitName,
  SPLIT_NAME_RULE,
  type LinkNameRow,
} from "../../names/index.js";
import type { Rule } from "./context.js";

const RULE_WORDS: Record<string, string> = {
  "dns1123-label": "a DNS-1123 label",
  "dns1035-label": "a Service name (DNS-1035 label)",
  "dns1123-subdomain": "a DNS-1123 subdomain",
  "label-value": "a label value",
};

/** Reports derived names of links and splits that are longer than Kubernetes accepts (XL217). */
export const derivedNameRules: Rule = (ctx) => {
  for (const l of ctx.draft.links) {
    if (l.from === undefined || l.to === undefined || l.from === l.to) continue;
    const base = `/spec/links/${l.index}`;
    for (const row of Object.values(LINK_NAME_TABLE) as LinkNameRow[]) {
      if (row.managedOnly && l.controller !== "managed") continue;
      const name = row.make(l.from, l.to);
      if (fitsLimit(name, row.rule)) continue;
      // The end of the link that appears in the name; when both do, the longer one.
      const usesFrom = row.make(`${l.from}x`, l.to) !== name;
      const usesTo = row.make(l.from, `${l.to}x`) !== name;
      const end = usesFrom && (!usesTo || l.from.length > l.to.length) ? "from" : "to";
      const limit = NAME_LIMITS[row.rule];
      ctx.report(
        "XL217",
        `${base}/${end}`,
        `link ${l.from}→${l.to}: its ${row.what} \`${name}\` is ${name.length} characters; ${RULE_WORDS[row.rule] ?? row.rule} has at most ${limit}`,
        `shorten the cluster name \`${end === "from" ? l.from : l.to}\` by ${name.length - limit} character${name.length - limit === 1 ? "" : "s"}${row.managedOnly ? ", or run the mirror controller yourself (controller: external)" : ""}; Kubernetes rejects the object otherwise`,
      );
    }
  }
  for (const s of ctx.draft.splits) {
    if (s.service === undefined) continue;
    const name = splitName(s.service);
    if (!fitsLimit(name, SPLIT_NAME_RULE)) {
      ctx.report(
        "XL217",
        `/spec/splits/${s.index}/service`,
        `split object name \`${name}\` is ${name.length} characters; ${RULE_WORDS[SPLIT_NAME_RULE]} has at most ${NAME_LIMITS[SPLIT_NAME_RULE]}`,
        "shorten the service name",
      );
    }
  }
};
