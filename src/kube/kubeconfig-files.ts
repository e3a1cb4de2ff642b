/**
 * Kubeconfigs from files that can change under a running daemon: `--kubeconfig`
 * files and every file of each `--kubeconfig-dir` (as mounted from Secrets).
 * Their contexts are merged into one Kubeconfig; each file's clusters and
 * users are renamed after the file, so two files that both call their user
 * `admin` do not collide. A context name defined in two files is an error
 * naming both; the current context is the first one a file sets, as in
 * kubectl. `KubeconfigFiles.refresh()` re-reads the files and reloads only
 * when their content changed (a rotated Secret), keeping the last good set
 * when the new one does not load.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Kubeconfig, KubeconfigError, type Cluster, type Context, type User } from "./kubeconfig.js";

/** One file's path and text. */
export interface KubeconfigText {
  file: string;
  text: string;
}

/**
 * The regular files of a directory in name order, skipping dot entries (a
 * Secret volume's `..data` links and timestamped directories).
 */
export function filesOfDir(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new KubeconfigError(`--kubeconfig-dir ${dir}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
  return names
    .filter((n) => !n.startsWith("."))
    .sort()
    .map((n) => path.join(dir, n))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
}

/** Merges kubeconfig texts (pure but for relative certificate paths, resolved against each file's directory). */
export function mergeKubeconfigs(texts: KubeconfigText[]): Kubeconfig {
  const clusters: Cluster[] = [];
  const users: User[] = [];
  const contexts: Context[] = [];
  const contextFile = new Map<string, string>();
  let currentContext = "";
  for (const { file, text } of texts) {
    const one = new Kubeconfig();
    try {
      one.loadFromString(text);
    } catch (err) {
      throw new KubeconfigError(`${file}: not a kubeconfig: ${err instanceof Error ? err.message : String(err)}`);
    }
    one.makePathsAbsolute(path.dirname(file));
    const tag = (name: string) => (texts.length === 1 ? name : `${path.basename(file)}/${name}`);
    for (const c of one.getClusters()) clusters.push({ ...c, name: tag(c.name) });
    for (const u of one.getUsers()) users.push({ ...u, name: tag(u.name) });
    for (const ctx of one.getContexts()) {
      const seen = contextFile.get(ctx.name);
      if (seen) throw new KubeconfigError(`${file}: context '${ctx.name}' is also defined in ${seen}`);
      contextFile.set(ctx.name, file);
      contexts.push({ ...ctx, cluster: tag(ctx.cluster), user: tag(ctx.user) });
    }
    currentContext ||= one.getCurrentContext() ?? "";
  }
  const kc = new Kubeconfig();
  kc.loadFromOptions({ clusters, users, contexts, currentContext });
  return kc;
}

/** Where kubeconfigs come from: files and directories; both empty means none. */
export interface KubeconfigPaths {
  files: string[];
  dirs: string[];
}

/** The merged kubeconfig of a set of files and directories, reloaded when they change. */
export class KubeconfigFiles {
  private kc: Kubeconfig;
  private hash: string;
  private gen = 0;

  /** Loads every file now; throws a KubeconfigError naming the file that does not load. */
  constructor(private readonly paths: KubeconfigPaths) {
    const texts = this.read();
    this.kc = mergeKubeconfigs(texts);
    this.hash = digest(texts);
  }

  /** Counts the loads that changed the kubeconfig (0 for the first). */
  get generation(): number {
    return this.gen;
  }

  /** The kubeconfig as last loaded. */
  get current(): Kubeconfig {
    return this.kc;
  }

  /**
   * Re-reads the files: `changed` when their content differs and loads
   * (`current` is then the new set); `error` when it differs and does not
   * load (`current` stays the last good set).
   */
  refresh(): { changed: boolean; error?: string } {
    let texts: KubeconfigText[];
    let hash: string;
    try {
      texts = this.read();
      hash = digest(texts);
      if (hash === this.hash) return { changed: false };
      this.kc = mergeKubeconfigs(texts);
    } catch (err) {
      return { changed: false, error: err instanceof Error ? err.message : String(err) };
    }
    this.hash = hash;
    this.gen++;
    return { changed: true };
  }

  private read(): KubeconfigText[] {
    const files = [...this.paths.files, ...this.paths.dirs.flatMap(filesOfDir)];
    return files.map((file) => {
      try {
        return { file, text: readFileSync(file, "utf8") };
      } catch (err) {
        throw new KubeconfigError(`${file}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`);
      }
    });
  }
}

function digest(texts: KubeconfigText[]): string {
  const h = createHash("sha256");
  for (const t of texts) h.update(`${t.file}\0${t.text}\0`);
  return h.digest("hex");
}
