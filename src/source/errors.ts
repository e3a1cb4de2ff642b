/** Typed errors of the source edge, with literal codes. */
import { CrosslinkError, definedData } from "../errors.js";

/** Codes of errors raised while reading a source. */
export type SourceErrorCode =
  | "SOURCE_FETCH"
  | "SOURCE_AUTH"
  | "SOURCE_REF_NOT_FOUND"
  | "SOURCE_FILE_NOT_FOUND"
  | "SOURCE_SIGNATURE"
  | "SOURCE_CONFIG"
  /** A fetch over `--max-fetch-bytes`. */
  | "SOURCE_TOO_LARGE";

/** An error from a source; the revision or URL comes first in the message. Never carries credentials. */
export class SourceError extends CrosslinkError<SourceErrorCode> {
  /** Creates an error; `data` holds the revision when known. */
  constructor(
    code: SourceErrorCode,
    message: string,
    /** The revision concerned, when known (e.g. the commit whose signature failed). */
    readonly revision?: string,
  ) {
    super(code, message, { data: definedData({ revision }) });
    this.name = "SourceError";
  }
}

export { redactUrl } from "../util/redact-url.js";
