/** crosslink's version: the `version` of its package.json (three levels above dist/src/cli/). */
import { readFileSync } from "node:fs";

/** The version string, or "unknown" when package.json cannot be read. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}
