/**
 * The base of crosslink's typed errors (kube, source, git revision, daemon
 * configuration): a literal `code`, structured `data` saying which object,
 * an optional `hint` on what to do, and a `toJSON` for `--output json` and
 * logs. The message names the object first. Never put a secret in any of them.
 */

/** What a typed error carries besides its code and message. */
export interface CrosslinkErrorOptions {
  hint?: string;
  data?: Record<string, unknown>;
  cause?: unknown;
}

/** A crosslink error with a stable code. */
export class CrosslinkError<C extends string = string> extends Error {
  /** A stable, literal code (e.g. `KUBE_FORBIDDEN`, `UNKNOWN_REVISION`). */
  readonly code: C;
  /** Which repository, revision, cluster or flag the error is about. */
  readonly data: Readonly<Record<string, unknown>>;
  /** What to do about it, when crosslink knows. */
  readonly hint?: string;

  /** Creates an error; the message names the object first. */
  constructor(code: C, message: string, options: CrosslinkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CrosslinkError";
    this.code = code;
    this.data = options.data ?? {};
    if (options.hint !== undefined) this.hint = options.hint;
  }

  /** The error as plain data: name, code, message, hint and data (no stack). */
  toJSON(): { name: string; code: C; message: string; hint?: string; data: Readonly<Record<string, unknown>> } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.hint !== undefined ? { hint: this.hint } : {}),
      data: this.data,
    };
  }
}

/** Drops undefined values, so `data` holds only what is known. */
export function definedData(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
}
