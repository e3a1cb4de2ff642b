// Locations the harness uses, found from this compiled file rather than the
// working directory: dist/test/harness/paths.js → repo root three levels up.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "test", "harness", "go.mod"))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`crosslink harness: cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
}

export const repoRoot: string = findRepoRoot();
export const harnessSourceDir: string = path.join(repoRoot, "test", "harness");
export const crdDir: string = path.join(harnessSourceDir, "crds");
export const cacheDir: string = path.join(repoRoot, ".cache");
export const harnessBinary: string = path.join(cacheDir, "kube-harness");
export const harnessHashFile: string = `${harnessBinary}.sha256`;
export const defaultClustersDir: string = path.join(repoRoot, ".clusters");
