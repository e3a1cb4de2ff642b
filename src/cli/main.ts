/**
 * crosslink's command dispatcher: maps the first argument to a command module.
 * Commands are thin; each returns its exit code.
 */
import { processIo, type CommandIo } from "./command.js";
import { commands } from "./commands.js";
import { packageVersion } from "./version.js";

const USAGE = `crosslink — GitOps for Linkerd multicluster

Usage: crosslink <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join("\n")}

Run 'crosslink <command> --help' for a command's options; 'crosslink --version' prints the version.`;

/** Runs crosslink with the given arguments (without `node` and the script) and returns the exit code. */
export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.out(USAGE + "\n");
    return name ? 0 : 1;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    io.out(`crosslink ${packageVersion()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.err(`crosslink: unknown command '${name}'\n\n${USAGE}\n`);
    return 1;
  }
  try {
    return await (await command.load()).run(rest, io);
  } catch (err) {
    io.err(`crosslink ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
