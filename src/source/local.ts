/**
 * The local-directory source, for development: files are read from a
 * directory; the revision is a hash of the topology file and the files it
 * sits beside (anchors), so an edit is a new revision. Every read is bounded
 * and confined to the directory: symbolic links out of it are refused.
 */
import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_MAX_BYTES } from "../topology/parse.js";
import { readBounded } from "../util/read-bounded.js";
import { SourceError } from "./errors.js";
import type { Source, SourceSnapshot } from "./types.js";

/** A `Source` over a directory on disk. */
export class LocalSource implements Source {
  readonly describe: string;
  private current?: string;

  constructor(
    private readonly dir: string,
    private readonly topologyPath = "multicluster.yaml",
  ) {
    this.describe = path.resolve(dir);
  }

  async sync(): Promise<SourceSnapshot> {
    const root = path.resolve(this.dir);
    const main = path.join(root, this.topologyPath);
    const hash = createHash("sha256");
    try {
      hash.update(await readBounded(main, { maxBytes: DEFAULT_MAX_BYTES, root }));
    } catch (err) {
      throw new SourceError(
        "SOURCE_FILE_NOT_FOUND",
        `${main}: cannot read the topology file (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    for (const f of await listFiles(path.dirname(main), 2)) {
      hash.update(f);
      // Files too large (or not readable inside the root) count by size and time, not content.
      const content = await readBounded(f, { maxBytes: DEFAULT_MAX_BYTES, root }).catch(() => undefined);
      if (content) hash.update(content);
      else
        hash.update(
          JSON.stringify(
            await stat(f).then(
              (s) => [s.size, s.mtimeMs],
              () => null,
            ),
          ),
        );
    }
    const revision = `local:${hash.digest("hex").slice(0, 16)}`;
    const changed = revision !== this.current;
    this.current = revision;
    return {
      revision,
      changed,
      topologyPath: this.topologyPath,
      readFile: (p, opts) =>
        readBounded(path.resolve(root, p), { maxBytes: opts?.maxBytes ?? DEFAULT_MAX_BYTES, root }),
    };
  }
}

async function listFiles(dir: string, depth: number): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isFile()) out.push(p);
    else if (e.isDirectory() && depth > 0) out.push(...(await listFiles(p, depth - 1)));
  }
  return out;
}
