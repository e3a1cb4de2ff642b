/**
 * The I/O shell of a review: reads the topology file at two git revisions and
 * loads both (anchor files come from the same revision). Git failures are
 * `GitSourceError`s (unknown revision, file missing at a revision).
 */
import path from "node:path";
import {
  commitTrailers,
  openRepo,
  openRevision,
  readTopologyText,
  revisionReadFile,
  REVISION_ROOT,
  type GitRepo,
  type Revision,
} from "../source/git-revision.js";
import { loadBaseForReview, loadForReview } from "./load.js";
import type { ReviewSide } from "./review.js";
import { MASS_PRUNE_TRAILER } from "./safety.js";

/** What to review. */
export interface GitReviewRequest {
  /** A local clone's directory or a URL. */
  repo: string;
  base: string;
  head: string;
  /** The topology's path inside the repository. */
  file: string;
  cacheDir?: string;
  /** Most bytes a fetch of a URL may download. */
  maxFetchBytes?: number;
  now?: Date;
}

/** Both revisions loaded, and what the head commit allows. */
export interface GitReviewSides {
  repo: GitRepo;
  base: ReviewSide;
  head: ReviewSide;
  headMessage: string;
  massPruneAllowed: boolean;
}

/** Whether a commit message carries the `crosslink: allow-mass-prune` trailer. */
export function allowsMassPrune(message: string): boolean {
  const [key, value] = MASS_PRUNE_TRAILER.split(": ") as [string, string];
  return (commitTrailers(message).get(key) ?? []).some((v) => v.toLowerCase() === value);
}

async function loadSide(
  repo: GitRepo,
  revision: Revision,
  file: string,
  now: Date,
  side: "base" | "head",
): Promise<ReviewSide> {
  const clean = path.posix.normalize(file.replace(/\\/g, "/")).replace(/^(\.\/)+|^\/+/, "");
  const text = await readTopologyText(repo, revision, clean);
  const load = await (side === "base" ? loadBaseForReview : loadForReview)({
    file: clean,
    text,
    readFile: revisionReadFile(revision),
    baseDir: path.posix.join(REVISION_ROOT, path.posix.dirname(clean)),
    now,
  });
  return { rev: revision.rev, oid: revision.oid, load };
}

/** Opens the repository and loads the topology at base and head. */
export async function loadGitSides(req: GitReviewRequest): Promise<GitReviewSides> {
  const repo = await openRepo(req.repo, {
    ...(req.cacheDir ? { cacheDir: req.cacheDir } : {}),
    ...(req.maxFetchBytes ? { maxFetchBytes: req.maxFetchBytes } : {}),
  });
  const [baseRev, headRev] = await Promise.all([openRevision(repo, req.base), openRevision(repo, req.head)]);
  const now = req.now ?? new Date();
  const [base, head] = await Promise.all([
    loadSide(repo, baseRev, req.file, now, "base"),
    loadSide(repo, headRev, req.file, now, "head"),
  ]);
  return { repo, base, head, headMessage: headRev.message, massPruneAllowed: allowsMassPrune(headRev.message) };
}
