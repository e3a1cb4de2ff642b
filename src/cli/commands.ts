/** The table of crosslink's subcommands, by name. */
import type { Command } from "./command.js";
import { applyCommand } from "./apply.js";
import { diffCommand } from "./diff.js";
import { renderCommand } from "./render.js";
import { validateCommand } from "./validate.js";

/** Every subcommand crosslink knows; `main` dispatches on this table. */
export const commands: Record<string, Command> = {
  validate: validateCommand,
  diff: diffCommand,
  apply: applyCommand,
  render: renderCommand,
};
