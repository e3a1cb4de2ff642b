/** Rule: a staged rotation has one `next` anchor and keeps at least one `current` one. */
import type { Rule } from "./context.js";

/** Reports a second `role: next` anchor, and a bundle whose every anchor is `next`. */
export const anchorRoles: Rule = (ctx) => {
  const next = ctx.draft.anchors.filter((a) => a.role === "next");
  for (const a of next.slice(1))
    ctx.report(
      "XL310",
      `/spec/trustAnchors/${a.index}/role`,
      `trust anchor \`${a.name ?? `#${a.index}`}\` is a second \`role: next\` (first: \`${next[0]!.name ?? ""}\`)`,
      "rotate to one new anchor at a time; finish that rotation (drop the old anchor, then the role) before starting another",
    );
  if (next.length && next.length === ctx.draft.anchors.length)
    ctx.report(
      "XL310",
      `/spec/trustAnchors/${next[0]!.index}/role`,
      "every trust anchor has `role: next`: no current anchor is left for the issuers that exist now",
      "keep the anchor the issuers chain to today beside the next one until every issuer is reissued; once the old anchor is gone, drop `role: next`",
    );
};
