/** Shared by the import tests: the CLI run in-process. */
import { main } from "../../src/cli/main.js";

/** Runs the crosslink CLI in-process; exit code and output. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}
