/** Paths tests share: the repository root, from the compiled test's location. */
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this module runs from dist/test/support). */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
