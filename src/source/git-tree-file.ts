/**
 * Reads one file of a commit from a git object store, as the loader reads a
 * local file: the path must stay inside the repository, every step must be a
 * directory (tree) and the file a regular blob: a symbolic link (mode 120000)
 * is refused, never followed; the blob's size is read from its header and a
 * blob over the limit is refused before it is inflated.
 */
import fs from "node:fs";
import path from "node:path";
import git from "isomorphic-git";
import { CrosslinkError } from "../errors.js";
import { gitObjectSize } from "./git-object-size.js";

/** Codes of a refused read: absent, a link or a directory, or over the size limit. */
export type TreeFileErrorCode = "ENOENT" | "ELOOP" | "EISDIR" | "EFBIG";

/** A file of a commit that cannot be read; `code` follows the file system's codes so the loader reports it like a local file. */
export class TreeFileError extends CrosslinkError<TreeFileErrorCode> {
  /** Creates an error; the message names the path first. */
  constructor(code: TreeFileErrorCode, message: string) {
    super(code, message);
    this.name = "TreeFileError";
  }
}

/** Normalizes a repository-relative path; throws ENOENT for one that leaves the repository. */
export function repoPath(filepath: string): string {
  const clean = path.posix.normalize(filepath.replace(/\\/g, "/")).replace(/^(\.\/)+/, "");
  if (clean === ".." || clean.startsWith("../") || path.posix.isAbsolute(clean) || clean === "." || clean === "") {
    throw new TreeFileError("ENOENT", `${filepath}: outside the repository`);
  }
  return clean;
}

/** What to read: a path of commit `commit` in the object store `gitdir`. */
export interface TreeFileRequest {
  gitdir: string;
  commit: string;
  filepath: string;
  /** Largest blob accepted, in bytes. */
  maxBytes: number;
  /** isomorphic-git's object cache, shared by the reads of one revision. */
  cache?: object;
}

/** Reads a regular file of a commit; throws a `TreeFileError` for an absent path, a link, a directory or a blob over `maxBytes`. */
export async function readTreeFile(req: TreeFileRequest): Promise<Uint8Array> {
  const clean = repoPath(req.filepath);
  const { gitdir, cache = {} } = req;
  const parts = clean.split("/");
  const shown = (i: number) => parts.slice(0, i + 1).join("/");
  let tree = (await git.readCommit({ fs, gitdir, oid: req.commit, cache })).commit.tree;
  let blob: string | undefined;
  for (const [i, name] of parts.entries()) {
    const { tree: entries } = await git.readTree({ fs, gitdir, oid: tree, cache });
    const entry = entries.find((e) => e.path === name);
    if (!entry) throw new TreeFileError("ENOENT", `${clean}: no such file in commit ${req.commit.slice(0, 12)}`);
    const last = i === parts.length - 1;
    if (entry.mode === "120000")
      throw new TreeFileError("ELOOP", `${shown(i)}: is a symbolic link in the repository; links are not followed`);
    if (entry.type === "tree") {
      if (last) throw new TreeFileError("EISDIR", `${clean}: is a directory`);
      tree = entry.oid;
    } else if (entry.type !== "blob" || !last) {
      throw new TreeFileError(
        "ENOENT",
        `${clean}: no such file in commit ${req.commit.slice(0, 12)} (${shown(i)} is not a directory)`,
      );
    } else blob = entry.oid;
  }
  const size = await gitObjectSize(gitdir, blob!);
  if (size !== undefined && size > req.maxBytes) throw tooBig(clean, size, req.maxBytes);
  const { blob: bytes } = await git.readBlob({ fs, gitdir, oid: blob!, cache });
  if (bytes.byteLength > req.maxBytes) throw tooBig(clean, bytes.byteLength, req.maxBytes);
  return bytes;
}

function tooBig(filepath: string, size: number, max: number): TreeFileError {
  return new TreeFileError(
    "EFBIG",
    `${filepath}: is ${size} bytes, over the ${max} bytes a file read from git may have`,
  );
}
