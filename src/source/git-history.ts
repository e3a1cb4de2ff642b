/**
 * Ancestry between two commits of a (possibly shallow) object store, walked
 * over the commits present locally: a missing parent makes the answer
 * `unknown` rather than a guess.
 */
import fs from "node:fs";
import git from "isomorphic-git";
import type { RevisionRelation } from "./types.js";

/** Most commits one walk reads. */
export const MAX_WALK = 10_000;

/** Whether `target` is reachable from `from` through parents; `complete` is false when a commit was missing or the walk hit its bound. */
export async function reaches(
  gitdir: string,
  from: string,
  target: string,
  cache: object = {},
): Promise<{ found: boolean; complete: boolean }> {
  const seen = new Set<string>([from]);
  const queue = [from];
  let complete = true;
  while (queue.length) {
    const oid = queue.shift()!;
    if (oid === target) return { found: true, complete };
    if (seen.size > MAX_WALK) return { found: false, complete: false };
    let parents: string[];
    try {
      parents = (await git.readCommit({ fs, gitdir, oid, cache })).commit.parent;
    } catch {
      complete = false;
      continue;
    }
    for (const p of parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      queue.push(p);
    }
  }
  return { found: false, complete };
}

/** How commit `later` relates to commit `earlier`. */
export async function relateCommits(gitdir: string, earlier: string, later: string): Promise<RevisionRelation> {
  if (earlier === later) return "same";
  const cache = {};
  const forward = await reaches(gitdir, later, earlier, cache);
  if (forward.found) return "fast-forward";
  const back = await reaches(gitdir, earlier, later, cache);
  if (back.found) return "rewind";
  return forward.complete && back.complete ? "diverged" : "unknown";
}
