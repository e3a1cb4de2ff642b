/** Test support: real git histories built with isomorphic-git in a temporary directory, and example topologies. */
import fs from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import git from "isomorphic-git";
import { parseDocument } from "yaml";
import { main } from "../../src/cli/main.js";

/** The repository root (tests run from dist/test/review). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Files of one commit: path → contents, `null` deletes the file. */
export type Files = Record<string, string | null>;

/** A temporary repository with a linear history. */
export interface TempRepo {
  dir: string;
  /** Commits `files` on top of the current branch and returns the new commit id. */
  commit(files: Files, message: string): Promise<string>;
  /** Creates a lightweight tag. */
  tag(name: string, oid: string): Promise<void>;
  remove(): Promise<void>;
}

const AUTHOR = { name: "Reviewer", email: "reviewer@example.com", timestamp: 1_767_225_600, timezoneOffset: 0 };

/** Creates an empty repository on branch `main`. */
export async function tempRepo(): Promise<TempRepo> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "crosslink-review-"));
  await git.init({ fs, dir, defaultBranch: "main" });
  let tick = 0;
  return {
    dir,
    async commit(files, message) {
      for (const [p, content] of Object.entries(files)) {
        const abs = path.join(dir, p);
        if (content === null) {
          fs.rmSync(abs, { force: true });
          await git.remove({ fs, dir, filepath: p });
        } else {
          fs.mkdirSync(path.dirname(abs), { recursive: true });
          fs.writeFileSync(abs, content);
          await git.add({ fs, dir, filepath: p });
        }
      }
      const who = { ...AUTHOR, timestamp: AUTHOR.timestamp + tick++ };
      return git.commit({ fs, dir, message, author: who, committer: who });
    },
    async tag(name, oid) {
      await git.tag({ fs, dir, ref: name, object: oid });
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The text of `examples/<name>/multicluster.yaml`, optionally edited through the YAML document. */
export async function exampleText(
  name: string,
  edit?: (doc: ReturnType<typeof parseDocument>) => void,
): Promise<string> {
  const text = await readFile(path.join(ROOT, "examples", name, "multicluster.yaml"), "utf8");
  if (!edit) return text;
  const doc = parseDocument(text);
  edit(doc);
  return doc.toString();
}

/** An example's files (topology and anchors) as a commit's `Files`, under `prefix`. */
export async function exampleFiles(
  name: string,
  prefix = "",
  edit?: (doc: ReturnType<typeof parseDocument>) => void,
): Promise<Files> {
  const anchors = await readFile(path.join(ROOT, "examples", name, "anchors", "root.crt"), "utf8");
  return { [`${prefix}multicluster.yaml`]: await exampleText(name, edit), [`${prefix}anchors/root.crt`]: anchors };
}

/** What one CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `crosslink ARGS` in-process through the CLI's entry point, with its output captured. */
export async function runCli(args: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}
