/** A crosslink subcommand: a function from arguments to exit code (its summary lives in the command table). */
export interface Command {
  run(args: string[]): Promise<number>;
}
