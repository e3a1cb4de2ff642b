/**
 * A discovery cache on disk, as kubectl keeps one: the answer of `GET /apis`
 * per API server (keyed by its URL and CA), reused by later commands for a
 * while, so a no-op `diff` or `apply` costs no discovery request. A file that
 * is missing, stale or unreadable is a miss; failing to write one is ignored.
 */
import { createHash } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { defaultCacheRoot, ensurePrivateDir } from "../source/cache-dir.js";

/** One stored discovery answer. */
export interface StoredDiscovery {
  /** When it was fetched (ms since the epoch). */
  at: number;
  /** Served versions, preferred first, by API group. */
  groups: Record<string, string[]>;
}

/** Where a client keeps discovery answers between processes. */
export interface DiscoveryStore {
  read(server: string, caPem: string | undefined): Promise<StoredDiscovery | undefined>;
  write(server: string, caPem: string | undefined, value: StoredDiscovery): Promise<void>;
}

/** The default directory: `discovery/` under crosslink's cache root. */
export function defaultDiscoveryDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultCacheRoot(env), "discovery");
}

/** A store of one JSON file per API server in `dir` (created private on first write). */
export function diskDiscoveryStore(dir: string): DiscoveryStore {
  const file = (server: string, caPem: string | undefined) =>
    path.join(
      dir,
      `${createHash("sha256")
        .update(`${server}\n${caPem ?? ""}`)
        .digest("hex")
        .slice(0, 32)}.json`,
    );
  return {
    async read(server, caPem) {
      try {
        const parsed = JSON.parse(await readFile(file(server, caPem), "utf8")) as Partial<StoredDiscovery>;
        if (typeof parsed.at !== "number" || typeof parsed.groups !== "object" || parsed.groups === null)
          return undefined;
        return { at: parsed.at, groups: parsed.groups };
      } catch {
        return undefined;
      }
    },
    async write(server, caPem, value) {
      try {
        await ensurePrivateDir(dir);
        const target = file(server, caPem);
        const tmp = `${target}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
        await rename(tmp, target);
      } catch {
        // A cache that cannot be written costs one request next time, nothing else.
      }
    },
  };
}
