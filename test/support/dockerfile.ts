/** The container image as its Dockerfile describes it, read by the install test and bench:daemon. */
import { readFile } from "node:fs/promises";
import path from "node:path";

/** The Dockerfile's instructions of its last stage (continuation lines joined; ENV as KEY=VALUE pairs). */
export async function imageSpec(root: string): Promise<{
  from: string;
  run: string;
  env: Record<string, string>;
  user: string;
  entry: string[];
  cmd: string[];
}> {
  const text = (await readFile(path.join(root, "Dockerfile"), "utf8")).replace(/\\\n\s*/g, " ");
  const stage = text.slice(text.lastIndexOf("\nFROM "));
  const one = (kw: string) => new RegExp(`^${kw} (.+)$`, "m").exec(stage)?.[1]?.trim() ?? "";
  const env: Record<string, string> = {};
  for (const m of one("ENV").matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
  return {
    from: one("FROM"),
    run: one("RUN"),
    env,
    user: one("USER"),
    entry: JSON.parse(one("ENTRYPOINT")) as string[],
    cmd: JSON.parse(one("CMD")) as string[],
  };
}
