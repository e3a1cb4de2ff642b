/**
 * The import's document as YAML text, with each note as a comment above the
 * part it concerns (the `yaml` library keeps comments on nodes).
 */
import { Document, isCollection, isNode } from "yaml";
import type { ImportNote, ImportResult } from "./build.js";

/** Text of a comment: `yaml` prefixes each line with `#`; a leading space reads better. */
function commentText(lines: readonly string[]): string {
  return lines.map((l) => ` ${l}`).join("\n");
}

/** Renders the topology with its notes as comments; notes whose place is gone go to the header. */
export function topologyYaml(result: Pick<ImportResult, "document" | "notes">, header: readonly string[]): string {
  const doc = new Document(result.document);
  const byPath = new Map<string, { path: ImportNote["path"]; texts: string[] }>();
  for (const n of result.notes) {
    const key = JSON.stringify(n.path);
    const entry = byPath.get(key) ?? { path: n.path, texts: [] };
    entry.texts.push(n.text);
    byPath.set(key, entry);
  }
  const top = [...header];
  for (const { path, texts } of byPath.values()) {
    const node = path.length ? doc.getIn(path, true) : undefined;
    if (isNode(node)) {
      node.commentBefore = [node.commentBefore, commentText(texts)].filter(Boolean).join("\n");
      if (isCollection(node)) node.spaceBefore = false;
    } else {
      top.push(...texts.map((t) => (path.length ? `${path.join(".")}: ${t}` : t)));
    }
  }
  doc.commentBefore = commentText(top);
  return doc.toString({ lineWidth: 0 });
}
