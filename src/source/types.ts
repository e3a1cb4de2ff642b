/**
 * The source port: where the desired topology comes from. The daemon asks a
 * source to `sync()` once per tick and gets the revision it now points at and
 * a way to read the files of that revision.
 */

/**
 * Reads a file of the revision by its path relative to the repository root;
 * refuses files over `maxBytes` (when given) before reading them.
 */
export type SnapshotReader = (repoPath: string, opts?: { maxBytes?: number }) => Promise<Uint8Array>;

/** What a source holds after a sync. */
export interface SourceSnapshot {
  /** The revision: a commit id for git, a content hash for a local directory. */
  revision: string;
  /** True when the revision differs from the one the previous sync returned. */
  changed: boolean;
  /** Path of the topology file inside the repository (anchor files resolve relative to it). */
  topologyPath: string;
  /** Reads a file of this revision. */
  readFile: SnapshotReader;
  /** A short description of the revision (commit subject, tag), for status. */
  message?: string;
  /** The whole commit message, trailers included (git sources), for `crosslink: allow-mass-prune`. */
  commitMessage?: string;
  /**
   * How this revision relates to an earlier one, from the source's history
   * (git only; a directory has no history).
   */
  relation?(earlier: string): Promise<RevisionRelation>;
  /** Network traffic of this sync, when the source knows it. */
  traffic?: { requests: number; bytes: number };
}

/**
 * How a revision relates to an earlier one: `fast-forward` (the earlier one is
 * its ancestor), `rewind` (it is an ancestor of the earlier one), `diverged`
 * (neither), `unknown` (the history needed to tell was not available).
 */
export type RevisionRelation = "same" | "fast-forward" | "rewind" | "diverged" | "unknown";

/** A source of topology revisions. */
export interface Source {
  /** A human-readable description (the URL without credentials, or the directory). */
  readonly describe: string;
  /** Brings the source up to date; throws a `SourceError` when it cannot. */
  sync(): Promise<SourceSnapshot>;
}
