/** A crosslink subcommand: a one-line summary and a function from arguments to exit code. */
export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}
