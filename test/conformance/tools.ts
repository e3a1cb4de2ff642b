/**
 * Locates Linkerd's own binaries (edge-26.8.3: `linkerd`, `controller`, `clusterstore`) for the
 * conformance tests: `LINKERD_TOOLS_DIR` when set, else `../shared/tools/linkerd` unpacked (and
 * checksummed) by its `unpack.sh` into `.cache/linkerd`. Under CI a missing tool is an error;
 * elsewhere the tests skip with `toolsMissingMessage`.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { cacheDir, repoRoot } from "../harness/paths.js";

const run = promisify(execFile);

/** Paths of Linkerd's binaries. */
export interface LinkerdTools {
  dir: string;
  linkerd: string;
  controller: string;
  clusterstore: string;
}

/** Where the packed binaries are shipped beside the repository. */
export const sharedToolsDir: string = path.resolve(repoRoot, "..", "shared", "tools", "linkerd");

/** What a developer does to get the binaries. */
export const toolsMissingMessage =
  "Linkerd's binaries are missing: set LINKERD_TOOLS_DIR to a directory holding linkerd, controller and " +
  "clusterstore, or put shared/ beside the repository (../shared/tools/linkerd, unpacked with xz from xz-utils).";

function toolsIn(dir: string): LinkerdTools | undefined {
  const t = {
    dir,
    linkerd: path.join(dir, "linkerd"),
    controller: path.join(dir, "controller"),
    clusterstore: path.join(dir, "clusterstore"),
  };
  return [t.linkerd, t.controller, t.clusterstore].every((p) => existsSync(p)) ? t : undefined;
}

let cached: Promise<LinkerdTools | undefined> | undefined;

/** Finds (unpacking once per process) Linkerd's binaries, or undefined when they cannot be had. */
export function linkerdTools(): Promise<LinkerdTools | undefined> {
  cached ??= (async () => {
    const fromEnv = process.env.LINKERD_TOOLS_DIR;
    if (fromEnv) return toolsIn(path.resolve(fromEnv));
    const unpack = path.join(sharedToolsDir, "unpack.sh");
    if (!existsSync(unpack)) return undefined;
    const dir = path.join(cacheDir, "linkerd");
    await run("bash", [unpack, dir], { timeout: 120_000 });
    return toolsIn(dir);
  })();
  return cached;
}

/**
 * The tools, or a reason to skip: under CI (`CI=true`) missing tools throw so the suite fails
 * instead of skipping silently.
 */
export async function requireLinkerdTools(): Promise<{ tools?: LinkerdTools; skip?: string }> {
  let tools: LinkerdTools | undefined;
  let why = toolsMissingMessage;
  try {
    tools = await linkerdTools();
  } catch (e) {
    why = `${toolsMissingMessage} (unpack failed: ${(e as Error).message})`;
  }
  if (tools) return { tools };
  if (process.env.CI === "true") throw new Error(why);
  return { skip: why };
}
