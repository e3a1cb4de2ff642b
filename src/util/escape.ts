/**
 * Text from input (YAML keys and values, file paths, commit subjects, API
 * server messages) printed for a human: control characters are shown as
 * escapes, so input cannot move the cursor, clear the screen, recolour the
 * terminal, reorder text (bidirectional overrides) or fake extra lines.
 * JSON output needs none of this: JSON.stringify escapes controls itself.
 */

// C0 controls, DEL, C1 controls, and the bidirectional embedding, override and isolate marks.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Escapes the control characters of `text` (`\e`, `\x07`, `\u202e`, …).
 * With `keepLineBreaks`, `\n` stays a line break: for whole reports whose
 * lines crosslink itself joined; single values from input escape it too.
 */
export function escapeControls(text: string, keepLineBreaks = false): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROL, (c) => (keepLineBreaks && c === "\n" ? c : escapeOne(c)));
}
