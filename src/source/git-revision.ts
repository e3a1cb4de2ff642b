/**
 * The git source: reads files of one revision of a repository with
 * isomorphic-git, from a local clone (working tree or bare) or from a URL
 * cloned into a cache directory. Nothing here touches the working tree, the
 * index or any ref of a local repository. Failures are `GitSourceError`s with
 * a literal code; URLs in messages never carry credentials.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import git from "isomorphic-git";
import type { ReadFile } from "../topology/index.js";
import { CrosslinkError } from "../errors.js";
import { DEFAULT_MAX_BYTES } from "../topology/parse.js";
import { boundedHttp, DEFAULT_MAX_FETCH_BYTES, fetchTooLarge, objectTooLarge } from "./bounded-http.js";
import { defaultCacheRoot, ensurePrivateDir } from "./cache-dir.js";
import { redactUrl } from "./errors.js";
import { readTreeFile, TreeFileError } from "./git-tree-file.js";

/** The codes of git source failures. */
export type GitErrorCode =
  "NOT_A_REPOSITORY" | "CLONE_FAILED" | "FETCH_TOO_LARGE" | "UNKNOWN_REVISION" | "FILE_MISSING" | "FILE_REFUSED";

/** A git source failure: `code` is stable, `data` says which repository, revision or path. */
export class GitSourceError extends CrosslinkError<GitErrorCode> {
  declare readonly hint: string;
  declare readonly data: Readonly<Record<string, string>>;

  /** Creates an error; the message names the object first. */
  constructor(code: GitErrorCode, message: string, hint: string, data: Record<string, string> = {}) {
    super(code, message, { hint, data });
    this.name = "GitSourceError";
  }
}

/** An opened repository: the git directory isomorphic-git reads, and what the user called it. */
export interface GitRepo {
  gitdir: string;
  /** The repository as shown in messages (a directory, or a URL without credentials). */
  display: string;
  /** Whether it was cloned from a URL (then branches may live only under `origin/`). */
  remote: boolean;
}

/** A resolved revision: its commit id, commit message and a reader of its files. */
export interface Revision {
  /** The revision as the user wrote it. */
  rev: string;
  oid: string;
  message: string;
  /** Reads a file of the revision by repository-relative path (`/` separated). Rejects with ENOENT when absent. */
  read(filepath: string): Promise<Uint8Array>;
}

/** Options of `openRepo`. */
export interface OpenOptions {
  /** Where URL clones are cached; default `$XDG_CACHE_HOME/crosslink/git` or `~/.cache/crosslink/git`. */
  cacheDir?: string;
  /** Most bytes one fetch of a URL may download; default 64 MiB. */
  maxFetchBytes?: number;
}

/** Whether `repo` names a remote repository rather than a directory. */
export function isUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo);
}

/** Opens a local repository (its working tree, a `.git` file or a bare repository) or clones/fetches a URL into the cache. */
export async function openRepo(repo: string, opts: OpenOptions = {}): Promise<GitRepo> {
  if (isUrl(repo)) return cloneUrl(repo, opts);
  const dir = path.resolve(repo);
  const gitdir = findGitdir(dir);
  if (!gitdir) {
    throw new GitSourceError(
      "NOT_A_REPOSITORY",
      `${repo}: not a git repository`,
      "give --repo a clone's directory or an https:// URL",
      { repo },
    );
  }
  return { gitdir, display: repo, remote: false };
}

function findGitdir(dir: string): string | undefined {
  const dotGit = path.join(dir, ".git");
  try {
    const st = fs.statSync(dotGit);
    if (st.isDirectory()) return dotGit;
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotGit, "utf8"));
    if (m?.[1]) {
      const linked = path.resolve(dir, m[1].trim());
      // a linked worktree keeps its objects in the common directory
      const common = path.join(linked, "commondir");
      return fs.existsSync(common) ? path.resolve(linked, fs.readFileSync(common, "utf8").trim()) : linked;
    }
  } catch {
    // not a working tree: maybe bare
  }
  if (fs.existsSync(path.join(dir, "HEAD")) && fs.existsSync(path.join(dir, "objects"))) return dir;
  return undefined;
}

/** Splits credentials off a URL: the URL isomorphic-git is given (and may store), and the auth handed to `onAuth` only. */
export function splitCredentials(url: string): { url: string; auth?: { username: string; password: string } } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (!u.username && !u.password) return { url };
  const auth = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  return { url: redactUrl(url), auth };
}

/**
 * Fetches every branch and tag of `url` into a bare cache repository named by
 * the URL without credentials. Branches land only under `refs/remotes/origin/`
 * (the cache has no local branches to go stale); credentials go to `onAuth`
 * and are never written; the download is bounded by `maxFetchBytes`.
 */
async function cloneUrl(url: string, opts: OpenOptions): Promise<GitRepo> {
  const { url: bare, auth } = splitCredentials(url);
  const display = redactUrl(url);
  const cache = opts.cacheDir ?? path.join(defaultCacheRoot(), "git");
  const gitdir = path.join(cache, createHash("sha256").update(bare).digest("hex").slice(0, 24) + ".git");
  const maxBytes = opts.maxFetchBytes ?? DEFAULT_MAX_FETCH_BYTES;
  const tooLarge: { error?: Error } = {};
  const http = boundedHttp(
    { requests: 0, bytes: 0 },
    maxBytes,
    () => fetchTooLarge(display, maxBytes),
    tooLarge,
    (size) => objectTooLarge(display, size, maxBytes),
  );
  let tries = 0;
  const fetchInto = async (dir: string) => {
    // the URL without credentials (this also scrubs one an older version stored) and where fetched branches go
    await git.setConfig({ fs, gitdir: dir, path: "remote.origin.url", value: bare });
    await git.setConfig({ fs, gitdir: dir, path: "remote.origin.fetch", value: "+refs/heads/*:refs/remotes/origin/*" });
    await git.fetch({
      fs,
      http,
      gitdir: dir,
      url: bare,
      remote: "origin",
      singleBranch: false,
      tags: true,
      prune: true,
      pruneTags: true,
      ...(auth ? { onAuth: () => auth, onAuthFailure: () => (++tries > 1 ? { cancel: true } : auth) } : {}),
    });
  };
  try {
    await ensurePrivateDir(cache);
    if (fs.existsSync(path.join(gitdir, "HEAD"))) {
      await fetchInto(gitdir);
    } else {
      const tmp = fs.mkdtempSync(path.join(cache, "clone-"));
      await git.init({ fs, gitdir: path.join(tmp, "git"), bare: true });
      await fetchInto(path.join(tmp, "git"));
      fs.renameSync(path.join(tmp, "git"), gitdir);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    await ensurePrivateDir(gitdir);
  } catch (err) {
    if (tooLarge.error) {
      throw new GitSourceError(
        "FETCH_TOO_LARGE",
        `${display}: ${tooLarge.error.message.replace(display + ": ", "")}`,
        "raise --max-fetch-bytes if the repository really is this big",
        { repo: display },
      );
    }
    const why = err instanceof Error ? err.message.split(url).join(display) : String(err);
    throw new GitSourceError(
      "CLONE_FAILED",
      `${display}: cannot clone: ${why}`,
      "check the URL and that the repository is readable from here",
      { repo: display },
    );
  }
  return { gitdir, display, remote: true };
}

const SUFFIX = /(~\d*|\^\d*)$/;

/** Resolves a revision (`main`, `origin/main`, a tag, a full or short sha, `HEAD~2`, `v1^`) to a commit id. */
export async function resolveRevision(repo: GitRepo, rev: string): Promise<string> {
  const unknown = () =>
    new GitSourceError(
      "UNKNOWN_REVISION",
      `${rev}: unknown revision in ${repo.display}`,
      "give a branch, tag or commit that exists there (fetch it first in a shallow CI checkout)",
      {
        repo: repo.display,
        rev,
      },
    );
  let base = rev;
  const steps: string[] = [];
  for (let m = SUFFIX.exec(base); m && m.index > 0; m = SUFFIX.exec(base)) {
    steps.unshift(m[1]!);
    base = base.slice(0, m.index);
  }
  const found = await resolveName(repo, base);
  if (!found) throw unknown();
  let oid: string = found;
  try {
    oid = await peel(repo, oid);
    for (const step of steps) {
      const n = step.length > 1 ? Number(step.slice(1)) : 1;
      if (step.startsWith("~")) {
        for (let i = 0; i < n; i++) {
          const parent: string | undefined = (await git.readCommit({ fs, gitdir: repo.gitdir, oid })).commit.parent[0];
          if (!parent) throw unknown();
          oid = parent;
        }
      } else if (n > 0) {
        const parent: string | undefined = (await git.readCommit({ fs, gitdir: repo.gitdir, oid })).commit.parent[
          n - 1
        ];
        if (!parent) throw unknown();
        oid = parent;
      }
    }
  } catch (err) {
    if (err instanceof GitSourceError) throw err;
    throw unknown();
  }
  return oid;
}

/**
 * The refs a name may mean. In a URL's cache the remote's current refs come
 * first (`origin/<name>`, then tags, `HEAD` is the remote's HEAD), so a branch
 * always resolves to where the server had it at the last fetch.
 */
function refCandidates(repo: GitRepo, name: string): string[] {
  if (!repo.remote) return [name];
  if (name === "HEAD") return ["refs/remotes/origin/HEAD"];
  if (name.startsWith("refs/")) return [name];
  return [`refs/remotes/origin/${name}`, `refs/tags/${name}`, `refs/remotes/${name}`];
}

async function resolveName(repo: GitRepo, name: string): Promise<string | undefined> {
  const candidates = refCandidates(repo, name);
  for (const ref of candidates) {
    try {
      return await git.resolveRef({ fs, gitdir: repo.gitdir, ref });
    } catch {
      // try the next spelling
    }
  }
  if (/^[0-9a-f]{4,40}$/i.test(name)) {
    try {
      return await git.expandOid({ fs, gitdir: repo.gitdir, oid: name.toLowerCase() });
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Follows annotated tags to the commit they name. */
async function peel(repo: GitRepo, oid: string): Promise<string> {
  for (let i = 0; i < 10; i++) {
    const obj = await git.readObject({ fs, gitdir: repo.gitdir, oid, format: "parsed" });
    if (obj.type !== "tag") return oid;
    oid = (obj.object as { object: string }).object;
  }
  return oid;
}

/** Opens one revision: resolves it and returns its commit message and a file reader. */
export async function openRevision(repo: GitRepo, rev: string): Promise<Revision> {
  const oid = await resolveRevision(repo, rev);
  const { commit } = await git.readCommit({ fs, gitdir: repo.gitdir, oid });
  const cache = {};
  return {
    rev,
    oid,
    message: commit.message,
    read(filepath) {
      return readTreeFile({
        gitdir: repo.gitdir,
        commit: oid,
        filepath: filepath.replace(/\\/g, "/").replace(/^\/+/, ""),
        maxBytes: DEFAULT_MAX_BYTES,
        cache,
      });
    },
  };
}

/** The virtual root under which a revision's files appear to the loader. */
export const REVISION_ROOT = "/";

/** A loader `ReadFile` over a revision: absolute paths are taken relative to the repository root. */
export function revisionReadFile(revision: Revision): ReadFile {
  return (p) => revision.read(path.posix.relative(REVISION_ROOT, p.replace(/\\/g, "/")));
}

/** Reads the topology file of a revision; a missing file is a `FILE_MISSING` error, a link or a blob over the limit `FILE_REFUSED`. */
export async function readTopologyText(repo: GitRepo, revision: Revision, filepath: string): Promise<Uint8Array> {
  try {
    return await revision.read(filepath);
  } catch (err) {
    if (err instanceof TreeFileError && err.code !== "ENOENT") {
      throw new GitSourceError(
        "FILE_REFUSED",
        `${err.message} (at ${revision.rev}, ${revision.oid.slice(0, 12)}, in ${repo.display})`,
        "commit the topology as a regular file under the size limit",
        {
          repo: repo.display,
          rev: revision.rev,
          path: filepath,
        },
      );
    }
    throw new GitSourceError(
      "FILE_MISSING",
      `${filepath}: no such file at ${revision.rev} (${revision.oid.slice(0, 12)}) in ${repo.display}`,
      "give the topology's path inside the repository with -f",
      {
        repo: repo.display,
        rev: revision.rev,
        path: filepath,
      },
    );
  }
}

/** The trailers of a commit message: `Key: value` lines of its last paragraph, keys lower-cased. */
export function commitTrailers(message: string): Map<string, string[]> {
  const paragraphs = message.trim().split(/\n\s*\n/);
  const last = paragraphs.length > 1 ? paragraphs[paragraphs.length - 1]! : "";
  const out = new Map<string, string[]>();
  for (const line of last.split("\n")) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    out.set(key, [...(out.get(key) ?? []), m[2]!.trim()]);
  }
  return out;
}
