/**
 * Branch moves that are not fast-forwards. When the followed branch moves,
 * the new head is compared with the revision in force (applied, else last
 * good): a move back to one of its ancestors, a move to a diverged history, or
 * one whose history could not be walked is logged, counted and shown in
 * status. With trusted keys, a move back to an ancestor is refused unless
 * allowed: a signature proves who wrote a commit, not that it is current, so
 * anyone who can push could otherwise replay a signed past.
 */
import type { RevisionRelation, SourceSnapshot } from "../source/types.js";

/** The rewind policy. */
export interface RewindPolicy {
  /** Refuse a move back to an ancestor of the revision in force (set with --trusted-keys, cleared by --allow-rewind). */
  refuseAncestor: boolean;
}

/** A branch move as shown in status. */
export interface BranchMove {
  from: string;
  to: string;
  relation: RevisionRelation;
  refused: boolean;
  /** ISO time the move was seen. */
  at: string;
}

/** What to do about a move: its record (undefined for a fast-forward) and, when refused, why. */
export interface MoveDecision {
  move?: BranchMove;
  refusal?: string;
}

/** Decides about a move from `from` to `to` whose relation is known (pure). */
export function judgeMove(
  from: string,
  to: string,
  relation: RevisionRelation,
  policy: RewindPolicy,
  at: Date,
): MoveDecision {
  if (relation === "same" || relation === "fast-forward") return {};
  const refused = relation === "rewind" && policy.refuseAncestor;
  const move: BranchMove = { from, to, relation, refused, at: at.toISOString() };
  if (!refused) return { move };
  return {
    move,
    refusal: `commit ${to} is an ancestor of ${from}, the revision in force: the branch was moved back (force-push); a rewind is refused while trusted keys are configured (--allow-rewind accepts it)`,
  };
}

/** Relates a new snapshot to the revision in force and decides; a snapshot that did not move, or a source without history, needs nothing. */
export async function checkMove(
  snapshot: SourceSnapshot,
  inForce: string | undefined,
  policy: RewindPolicy,
  at: Date,
): Promise<MoveDecision> {
  if (!snapshot.changed || !inForce || inForce === snapshot.revision || !snapshot.relation) return {};
  let relation: RevisionRelation;
  try {
    relation = await snapshot.relation(inForce);
  } catch {
    relation = "unknown";
  }
  return judgeMove(inForce, snapshot.revision, relation, policy, at);
}
