/** Sources of topology revisions: git over HTTP(S) and a local directory. */
export { GitSource, type GitRef, type GitSourceOptions } from "./git.js";
export { LocalSource } from "./local.js";
export { SourceError, redactUrl, type SourceErrorCode } from "./errors.js";
export { credentialsFromEnv, resolveAuth, type CredentialSource, type GitAuth } from "./credentials.js";
export { readTrustedKeys, verifyCommitSignature, type TrustedKeys } from "./signature.js";
export type { Source, SourceSnapshot, SnapshotReader } from "./types.js";
