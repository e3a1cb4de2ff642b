/** Where a command writes: its standard output and standard error (the process's, or a caller's). */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

/** The process's own streams. */
export const processIo: CommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** A crosslink subcommand: a function from arguments to exit code (its summary lives in the command table). */
export interface Command {
  run(args: string[], io: CommandIo): Promise<number>;
}
