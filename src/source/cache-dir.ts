/**
 * Where crosslink caches git repositories: `$XDG_CACHE_HOME/crosslink` or
 * `~/.cache/crosslink`, never a directory shared with other users; every
 * directory it creates there is private (mode 0700).
 */
import { chmod, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** The cache root: `$XDG_CACHE_HOME/crosslink`, else `~/.cache/crosslink`. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".cache"), "crosslink");
}

/** Creates `dir` (and missing parents) with mode 0700 and makes `dir` itself 0700 when it already existed. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
