/** The semantic rules run after the schema, in order. */
import type { Diagnostic } from "../../diagnostics.js";
import type { Draft } from "../draft.js";
import type { SourceMap } from "../parse.js";
import { ruleContext, type Rule } from "./context.js";
import { anchorRoles } from "./anchor-roles.js";
import { derivedNameRules } from "./derived-names.js";
import { exportRules } from "./exports.js";
import { linkRules } from "./links.js";
import { uniqueNames } from "./names.js";
import { splitRules } from "./splits.js";

/** Every semantic rule, in the order they run. */
export const RULES: readonly Rule[] = [uniqueNames, anchorRoles, linkRules, exportRules, splitRules, derivedNameRules];

/** Runs every rule on the draft and returns their diagnostics (unsorted). */
export function runRules(file: string, draft: Draft, map: SourceMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ctx = ruleContext(file, draft, map, out);
  for (const rule of RULES) rule(ctx);
  return out;
}
