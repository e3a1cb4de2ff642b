/** The table of crosslink's subcommands, by name. */
import type { Command } from "./command.js";

/** Every subcommand crosslink knows; `main` dispatches on this table. */
export const commands: Record<string, Command> = {};
