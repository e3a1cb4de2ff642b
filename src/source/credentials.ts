/**
 * Git credentials from the environment or a mounted file. Files are read at
 * every authentication so a rotated Secret takes effect without a restart.
 * Values are handed to isomorphic-git only; they are never logged.
 */
import { readFileSync } from "node:fs";

/** Basic-auth credentials for one request. */
export interface GitAuth {
  username: string;
  password: string;
}

/** Where credentials come from. */
export interface CredentialSource {
  /** A token (used as the password; username defaults to `x-access-token`). */
  token?: string;
  /** A file holding the token. */
  tokenFile?: string;
  username?: string;
  password?: string;
  /** A file holding the password. */
  passwordFile?: string;
}

/** Reads the credential settings from the environment (CROSSLINK_GIT_*). */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): CredentialSource {
  const c: CredentialSource = {};
  if (env.CROSSLINK_GIT_TOKEN) c.token = env.CROSSLINK_GIT_TOKEN;
  if (env.CROSSLINK_GIT_TOKEN_FILE) c.tokenFile = env.CROSSLINK_GIT_TOKEN_FILE;
  if (env.CROSSLINK_GIT_USERNAME) c.username = env.CROSSLINK_GIT_USERNAME;
  if (env.CROSSLINK_GIT_PASSWORD) c.password = env.CROSSLINK_GIT_PASSWORD;
  if (env.CROSSLINK_GIT_PASSWORD_FILE) c.passwordFile = env.CROSSLINK_GIT_PASSWORD_FILE;
  return c;
}

/** Resolves the credentials now, or undefined when none are configured. */
export function resolveAuth(src: CredentialSource): GitAuth | undefined {
  const read = (f: string) => readFileSync(f, "utf8").trim();
  const token = src.tokenFile ? read(src.tokenFile) : src.token;
  if (token) return { username: src.username ?? "x-access-token", password: token };
  const password = src.passwordFile ? read(src.passwordFile) : src.password;
  if (src.username && password !== undefined) return { username: src.username, password };
  return undefined;
}

/** Whether any credential is configured. */
export function hasCredentials(src: CredentialSource): boolean {
  return Boolean(src.token || src.tokenFile || (src.username && (src.password !== undefined || src.passwordFile)));
}
