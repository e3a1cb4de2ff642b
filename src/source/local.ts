/**
 * The local-directory source, for development: files are read from a
 * directory; the revision is a hash of the topology file and the files it
 * sits beside (anchors), so an edit is a new revision.
 */
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
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
    const main = path.join(this.dir, this.topologyPath);
    const hash = createHash("sha256");
    try {
      hash.update(await readFile(main));
    } catch {
      throw new SourceError("SOURCE_FILE_NOT_FOUND", `${main}: cannot read the topology file`);
    }
    for (const f of await listFiles(path.dirname(main), 2)) hash.update(f).update(await readFile(f));
    const revision = `local:${hash.digest("hex").slice(0, 16)}`;
    const changed = revision !== this.current;
    this.current = revision;
    const root = path.resolve(this.dir);
    return {
      revision,
      changed,
      topologyPath: this.topologyPath,
      readFile: async (p) => {
        const abs = path.resolve(root, p);
        if (!abs.startsWith(root + path.sep)) throw Object.assign(new Error(`${p}: outside ${root}`), { code: "ENOENT" });
        return readFile(abs);
      },
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
