/**
 * The git source: isomorphic-git over HTTP(S) into a cache directory. Each
 * sync asks the server for the followed ref's commit (one small discovery
 * request); only when it moved does it fetch, shallow and single-branch.
 * Files are read from the object store: no working tree is checked out, and
 * only the files the topology names are read (a symbolic link is refused, a
 * blob over the size limit is refused before it is inflated). A fetch is
 * bounded by `maxFetchBytes`: isomorphic-git holds the whole packfile in
 * memory, so a bigger download is cut off and refused (SOURCE_TOO_LARGE).
 */
import fs from "node:fs";
import path from "node:path";
import git from "isomorphic-git";
import type { HttpClient } from "isomorphic-git/http/node";
import { DEFAULT_MAX_BYTES } from "../topology/parse.js";
import { boundedHttp, DEFAULT_MAX_FETCH_BYTES, fetchTooLarge, objectTooLarge } from "./bounded-http.js";
import { ensurePrivateDir } from "./cache-dir.js";
import { hasCredentials, resolveAuth, type CredentialSource } from "./credentials.js";
import { SourceError, redactUrl } from "./errors.js";
import { reaches, relateCommits } from "./git-history.js";
import { readTreeFile } from "./git-tree-file.js";
import { verifyCommitSignature, type TrustedKeys } from "./signature.js";
import type { Source, SourceSnapshot } from "./types.js";

/** What a git source follows: a branch, a tag, or one pinned commit. */
export type GitRef = { branch: string } | { tag: string } | { commit: string };

/** Options of the git source. */
export interface GitSourceOptions {
  url: string;
  ref: GitRef;
  /** Topology file path inside the repository; default `multicluster.yaml`. */
  path?: string;
  /** Cache directory (created when missing). */
  cacheDir: string;
  credentials?: CredentialSource;
  /** When set, the head commit must be signed by one of these keys. */
  trustedKeys?: TrustedKeys;
  /** Most bytes one fetch may download; default 64 MiB. */
  maxFetchBytes?: number;
  /** Largest file read from a revision; default the topology loader's limit (4 MiB). */
  maxFileBytes?: number;
}

/** A `Source` backed by a remote git repository. */
export class GitSource implements Source {
  readonly describe: string;
  private current?: string;
  private initialised = false;
  private traffic = { requests: 0, bytes: 0 };
  private readonly http: HttpClient;
  private readonly dir: string;
  private readonly gitdir: string;
  private readonly tooLarge: { error?: Error } = {};
  private readonly maxFetchBytes: number;
  private refused?: { oid: string; error: SourceError };

  constructor(private readonly opts: GitSourceOptions) {
    this.describe = `${redactUrl(opts.url)}@${refLabel(opts.ref)}`;
    this.dir = opts.cacheDir;
    this.gitdir = path.join(this.dir, ".git");
    this.maxFetchBytes = opts.maxFetchBytes ?? DEFAULT_MAX_FETCH_BYTES;
    this.http = boundedHttp(
      this.traffic,
      this.maxFetchBytes,
      () => fetchTooLarge(this.describe, this.maxFetchBytes),
      this.tooLarge,
      (size) => objectTooLarge(this.describe, size, this.maxFetchBytes),
    );
  }

  async sync(): Promise<SourceSnapshot> {
    const before = { ...this.traffic };
    await this.init();
    const oid = await this.resolveRemote();
    const changed = oid !== this.current;
    // a commit refused as too large is not downloaded again at every tick; a new commit is tried afresh
    if (this.refused?.oid === oid) throw this.refused.error;
    if (changed && !(await this.has(oid))) {
      try {
        await this.fetch(oid);
      } catch (err) {
        if (err instanceof SourceError && err.code === "SOURCE_TOO_LARGE") this.refused = { oid, error: err };
        throw err;
      }
    }
    if (changed && this.current && "branch" in this.opts.ref) await this.connect(oid, this.current);
    const { commit, payload } = await this.readCommit(oid);
    if (changed && this.opts.trustedKeys)
      await verifyCommitSignature(oid, commit.gpgsig, payload, this.opts.trustedKeys);
    this.current = oid;
    return {
      revision: oid,
      changed,
      topologyPath: this.opts.path ?? "multicluster.yaml",
      readFile: (p) => this.readBlob(oid, p),
      relation: (earlier) => relateCommits(this.gitdir, earlier, oid),
      message: commit.message.split("\n")[0] ?? "",
      commitMessage: commit.message,
      traffic: { requests: this.traffic.requests - before.requests, bytes: this.traffic.bytes - before.bytes },
    };
  }

  private async init(): Promise<void> {
    if (this.initialised) return;
    await ensurePrivateDir(this.dir);
    if (!fs.existsSync(path.join(this.dir, ".git"))) await git.init({ fs, dir: this.dir, defaultBranch: "crosslink" });
    // The URL lives in memory only (it may carry credentials); the refspec lets fetch store what it got.
    await git.setConfig({
      fs,
      dir: this.dir,
      path: "remote.origin.fetch",
      value: "+refs/heads/*:refs/remotes/origin/*",
    });
    this.initialised = true;
  }

  private auth() {
    const creds = this.opts.credentials;
    if (!creds || !hasCredentials(creds)) return {};
    let tries = 0;
    return {
      onAuth: () => resolveAuth(creds),
      onAuthFailure: () => {
        tries++;
        return tries > 1 ? { cancel: true } : resolveAuth(creds);
      },
    };
  }

  /** The commit the followed ref points at on the server (or the pinned commit). */
  private async resolveRemote(): Promise<string> {
    const ref = this.opts.ref;
    if ("commit" in ref) return ref.commit;
    const full = "branch" in ref ? `refs/heads/${ref.branch}` : `refs/tags/${ref.tag}`;
    let refs: Awaited<ReturnType<typeof git.listServerRefs>>;
    try {
      refs = await git.listServerRefs({
        http: this.http,
        url: this.opts.url,
        prefix: full,
        peelTags: true,
        protocolVersion: 1,
        ...this.auth(),
      });
    } catch (err) {
      throw this.wrap(err);
    }
    const hit = refs.find((r) => r.ref === full);
    if (!hit) throw new SourceError("SOURCE_REF_NOT_FOUND", `${this.describe}: ${full} does not exist on the server`);
    return hit.peeled ?? hit.oid;
  }

  private async fetch(oid: string): Promise<void> {
    const ref = this.opts.ref;
    this.tooLarge.error = undefined;
    try {
      if ("commit" in ref) {
        await git.fetch({
          fs,
          http: this.http,
          dir: this.dir,
          remote: "origin",
          url: this.opts.url,
          singleBranch: false,
          tags: false,
          ...this.auth(),
        });
      } else {
        const name = "branch" in ref ? ref.branch : ref.tag;
        await git.fetch({
          fs,
          http: this.http,
          dir: this.dir,
          remote: "origin",
          url: this.opts.url,
          ref: name,
          singleBranch: true,
          depth: 1,
          tags: "tag" in ref,
          ...this.auth(),
        });
      }
    } catch (err) {
      throw this.wrap(err);
    }
    if (!(await this.has(oid)))
      throw new SourceError("SOURCE_REF_NOT_FOUND", `${this.describe}: commit ${oid} is not on the server`, oid);
  }

  /**
   * After a branch moved from `previous` to `oid`, fetches the commits in
   * between when the shallow fetch did not bring them (one deepen-since
   * request, bounded like any fetch), so that a later move back can be told
   * from a fast-forward. Best effort: without them the relation is `unknown`.
   */
  private async connect(oid: string, previous: string): Promise<void> {
    const cache = {};
    const walk = await reaches(this.gitdir, oid, previous, cache);
    if (walk.found || walk.complete) return;
    const prev = await git.readCommit({ fs, dir: this.dir, oid: previous, cache }).catch(() => undefined);
    if (!prev || !("branch" in this.opts.ref)) return;
    const since = new Date((prev.commit.committer.timestamp - 1) * 1000);
    try {
      await git.fetch({
        fs,
        http: this.http,
        dir: this.dir,
        remote: "origin",
        url: this.opts.url,
        ref: this.opts.ref.branch,
        singleBranch: true,
        since,
        tags: false,
        ...this.auth(),
      });
    } catch {
      // the relation stays unknown; the revision itself was fetched
    }
  }

  private async has(oid: string): Promise<boolean> {
    try {
      await git.readCommit({ fs, dir: this.dir, oid });
      return true;
    } catch {
      return false;
    }
  }

  private async readCommit(oid: string) {
    try {
      return await git.readCommit({ fs, dir: this.dir, oid });
    } catch (err) {
      throw new SourceError(
        "SOURCE_REF_NOT_FOUND",
        `commit ${oid}: cannot read: ${err instanceof Error ? err.message : String(err)}`,
        oid,
      );
    }
  }

  private readBlob(oid: string, filepath: string): Promise<Uint8Array> {
    return readTreeFile({
      gitdir: this.gitdir,
      commit: oid,
      filepath,
      maxBytes: this.opts.maxFileBytes ?? DEFAULT_MAX_BYTES,
    });
  }

  private wrap(err: unknown): SourceError {
    if (this.tooLarge.error) return this.tooLarge.error as SourceError;
    const e = err as { code?: string; message?: string; data?: { statusCode?: number } };
    const msg = (e.message ?? String(err)).replace(/\/\/[^@/\s]*@/g, "//");
    if (e.code === "HttpError" && (e.data?.statusCode === 401 || e.data?.statusCode === 403)) {
      return new SourceError("SOURCE_AUTH", `${this.describe}: authentication failed (HTTP ${e.data.statusCode})`);
    }
    if (e.code === "UserCanceledError")
      return new SourceError("SOURCE_AUTH", `${this.describe}: authentication failed`);
    return new SourceError("SOURCE_FETCH", `${this.describe}: ${msg}`);
  }
}

function refLabel(ref: GitRef): string {
  return "branch" in ref ? ref.branch : "tag" in ref ? `tag:${ref.tag}` : ref.commit.slice(0, 12);
}
