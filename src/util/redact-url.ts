/** URLs fit for messages and logs. */

/** Removes credentials embedded in a URL (`https://user:pass@host` → `https://host`). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "";
      u.password = "";
    }
    return u.toString().replace(/\/$/, url.endsWith("/") ? "/" : "");
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//");
  }
}
