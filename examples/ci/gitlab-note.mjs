// Posts or updates crosslink's one plan note on a GitLab merge request.
// Usage (in a merge request pipeline): node gitlab-note.mjs plan.md
// Reads CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID and CROSSLINK_NOTE_TOKEN.
import { readFileSync } from "node:fs";

const MARKER = "<!-- crosslink-plan -->";
const LIMIT = 1_000_000; // GitLab's note limit
const { CI_API_V4_URL: api, CI_PROJECT_ID: project, CI_MERGE_REQUEST_IID: mr, CROSSLINK_NOTE_TOKEN: token } = process.env;
if (!api || !project || !mr || !token) {
  console.error("gitlab-note: needs CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID and CROSSLINK_NOTE_TOKEN");
  process.exit(1);
}
let body = readFileSync(process.argv[2] ?? "plan.md", "utf8");
if (!body.includes(MARKER)) body = `${MARKER}\n${body}`;
if (body.length > LIMIT) body = body.slice(0, LIMIT) + "\n\n… (truncated; the full plan is in the job artifacts)";

const base = `${api}/projects/${encodeURIComponent(project)}/merge_requests/${mr}/notes`;
const headers = { "PRIVATE-TOKEN": token, "Content-Type": "application/json" };
async function call(method, url, payload) {
  const res = await fetch(url, { method, headers, ...(payload ? { body: JSON.stringify(payload) } : {}) });
  if (!res.ok) throw new Error(`${method} ${url.replace(api, "")}: HTTP ${res.status}`);
  return res.json();
}
let mine;
for (let page = 1; !mine; page++) {
  const notes = await call("GET", `${base}?per_page=100&page=${page}&sort=asc`);
  mine = notes.find((n) => !n.system && n.body?.includes(MARKER));
  if (notes.length < 100) break;
}
if (mine) await call("PUT", `${base}/${mine.id}`, { body });
else await call("POST", base, { body });
console.log(mine ? `updated note ${mine.id}` : "posted the plan note");
