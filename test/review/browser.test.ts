/**
 * The Markdown comment renders: a real headless Chromium renders it with
 * `marked` and the Mermaid block with `mermaid` (local files, no network);
 * the diagram must show the removed and added edges. Screenshot:
 * test-output/review/plan.png.
 *
 * Needs Debian `chromium` (or CROSSLINK_CHROMIUM) and the npm packages
 * `marked`, `mermaid` and `playwright-core` in the project's node_modules or in
 * CROSSLINK_REVIEW_TOOLS (a directory holding node_modules, e.g. made by
 * `npm install --prefix /tmp/review-tools marked mermaid playwright-core`).
 * Skips with a message when any is missing.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { ROOT, exampleFiles, runCli, tempRepo } from "./support.js";

const CHROMIUM = process.env.CROSSLINK_CHROMIUM ?? "/usr/bin/chromium";
const OUT = path.join(ROOT, "test-output", "review");

/** A package file in the project's or the tools directory's node_modules; undefined when absent. */
function resolveFrom(pkg: string, file: string): string | undefined {
  const roots = [ROOT, process.env.CROSSLINK_REVIEW_TOOLS ?? "/tmp/review-tools"];
  return roots.map((root) => path.join(root, "node_modules", pkg, file)).find((p) => fs.existsSync(p));
}

const tools = {
  marked: resolveFrom("marked", "lib/marked.umd.js"),
  mermaid: resolveFrom("mermaid", "dist/mermaid.min.js"),
  playwright: resolveFrom("playwright-core", "index.mjs"),
};
const missing = [
  ...Object.entries(tools)
    .filter(([, v]) => !v)
    .map(([k]) => k),
  ...(fs.existsSync(CHROMIUM) ? [] : [CHROMIUM]),
];
const skip = missing.length ? `browser check needs ${missing.join(", ")} (see this file's header)` : false;

const PAGE = (md: string, marked: string, mermaid: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>crosslink plan</title>
<style>body{font-family:sans-serif;max-width:980px;margin:24px auto;padding:0 16px}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px}</style>
<script src="${pathToFileURL(marked).href}"></script>
<script src="${pathToFileURL(mermaid).href}"></script>
</head><body><div id="comment"></div>
<script>
  (async () => {
    const md = ${JSON.stringify(md)};
    const el = document.getElementById("comment");
    el.innerHTML = marked.parse(md);
    for (const d of el.querySelectorAll("details")) d.open = true;
    for (const code of el.querySelectorAll("code.language-mermaid")) {
      const pre = document.createElement("pre");
      pre.className = "mermaid";
      pre.textContent = code.textContent;
      code.parentElement.replaceWith(pre);
    }
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    try { await mermaid.run({ querySelector: "pre.mermaid" }); window.renderDone = "ok"; }
    catch (e) { window.renderDone = "error: " + e; }
  })();
</script></body></html>`;

test(
  "the plan comment renders in a browser with the changed edges in the Mermaid diagram",
  { skip, timeout: 120_000 },
  async () => {
    const repo = await tempRepo();
    let md: string;
    try {
      const base = await repo.commit(await exampleFiles("podinfo-split"), "base");
      const head = await repo.commit(
        await exampleFiles("podinfo-split", "", (d) => {
          d.deleteIn(["spec", "links", 0]);
          d.deleteIn(["spec", "splits", 0, "backends", 1]);
          d.addIn(["spec", "clusters"], d.createNode({ name: "workload3" }));
          d.addIn(["spec", "links"], d.createNode({ from: "workload3", to: "workload2" }));
        }),
        "unlink workload1, add workload3",
      );
      const r = await runCli(["plan", "--repo", repo.dir, "--base", base, "--head", head, "-o", "markdown"]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      md = r.stdout;
    } finally {
      await repo.remove();
    }
    fs.mkdirSync(OUT, { recursive: true });
    const html = path.join(OUT, "plan.html");
    fs.writeFileSync(html, PAGE(md, tools.marked!, tools.mermaid!));
    fs.writeFileSync(path.join(OUT, "plan.md"), md);

    const { chromium } = (await import(pathToFileURL(tools.playwright!).href)) as typeof import("node:module") & {
      chromium: { launch(o: object): Promise<{ newPage(o?: object): Promise<Page>; close(): Promise<void> }> };
    };
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const requests: string[] = [];
      page.on("request", (req: { url(): string }) => requests.push(req.url()));
      await page.goto(pathToFileURL(html).href);
      await page.waitForFunction("window.renderDone !== undefined", undefined, { timeout: 60_000 });
      assert.equal(await page.evaluate("window.renderDone"), "ok");
      assert.deepEqual(
        requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:")),
        [],
        "no network",
      );
      const facts = (await page.evaluate(`(() => {
      const svg = document.querySelector("pre.mermaid svg");
      const labels = [...svg.querySelectorAll(".edgeLabel")].map((e) => e.textContent.trim()).filter(Boolean);
      const nodes = [...svg.querySelectorAll(".node")].map((n) => ({ text: n.textContent.trim(), cls: n.getAttribute("class") }));
      const edges = [...svg.querySelectorAll("path.flowchart-link, .edgePaths path")].map((p) => p.getAttribute("style") || "");
      return { labels, nodes, edges, summary: document.querySelector("h3").textContent, table: !!document.querySelector("table") };
    })()`)) as {
        labels: string[];
        nodes: { text: string; cls: string }[];
        edges: string[];
        summary: string;
        table: boolean;
      };
      assert.match(facts.summary, /crosslink plan for podinfo-split/);
      assert.ok(facts.table, "the weights table renders");
      assert.deepEqual([...new Set(facts.labels)].sort(), ["added", "removed"]);
      assert.ok(
        facts.nodes.some((n) => n.text === "workload3" && /\badded\b/.test(n.cls)),
        JSON.stringify(facts.nodes),
      );
      assert.ok(
        facts.edges.some((s) => s.includes("#cf222e") && s.includes("dasharray")),
        `a dashed red removed edge: ${JSON.stringify(facts.edges)}`,
      );
      assert.ok(
        facts.edges.some((s) => s.includes("#1a7f37")),
        "a green added edge",
      );
      await page.screenshot({ path: path.join(OUT, "plan.png"), fullPage: true });
      assert.ok(fs.statSync(path.join(OUT, "plan.png")).size > 10_000);
    } finally {
      await browser.close();
    }
  },
);

interface Page {
  on(event: "request", fn: (req: { url(): string }) => void): void;
  goto(url: string): Promise<unknown>;
  waitForFunction(expr: string, arg: unknown, opts: { timeout: number }): Promise<unknown>;
  evaluate(expr: string): Promise<unknown>;
  screenshot(o: { path: string; fullPage: boolean }): Promise<unknown>;
}
