/**
 * The extension tables are the single definition of split APIs and export
 * modes: the schema's enums must equal them, the kind table must hold every
 * split API's kind, and the harness must have a CRD for each.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import {
  DEFAULT_EXPORT_MODE,
  EXPORT_LABELS,
  EXPORT_MODE_NAMES,
  EXPORT_MODES,
} from "../../../src/extensions/export-modes.js";
import { SPLIT_API_NAMES, SPLIT_APIS } from "../../../src/extensions/split-apis.js";
import { DISCOVERED_GROUPS, LINK_GROUP, kindInfo } from "../../../src/kube/kinds.js";
import { toDraft } from "../../../src/topology/draft.js";
import { repoRoot } from "../../support/paths.js";

interface SchemaNode {
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

const schema = JSON.parse(
  readFileSync(path.join(repoRoot, "schema/multicluster.schema.json"), "utf8"),
) as SchemaNode & { properties: { spec: SchemaNode } };
const item = (list: string): SchemaNode => schema.properties.spec.properties![list]!.items!;

test("the schema's split `api` enum equals the split-API table, in order", () => {
  assert.deepEqual(item("splits").properties!.api!.enum, [...SPLIT_API_NAMES]);
});

test("the schema's export `mode` enum equals the export-mode table, in order", () => {
  assert.deepEqual(item("exports").properties!.mode!.enum, [...EXPORT_MODE_NAMES]);
  assert.equal(DEFAULT_EXPORT_MODE, "gateway");
});

test("every split API's kind is in the kind table, managed and discovered", () => {
  for (const a of SPLIT_APIS) {
    const info = kindInfo(`${a.group}/${a.versions[0]}`, a.kind);
    assert.equal(info.plural, a.plural);
    assert.ok(info.managed && info.version === undefined, `${a.api}: managed, version discovered`);
    assert.ok(DISCOVERED_GROUPS.includes(a.group));
  }
  assert.deepEqual([...DISCOVERED_GROUPS].sort(), [...new Set([LINK_GROUP, ...SPLIT_APIS.map((a) => a.group)])].sort());
});

test("the harness has a CRD fixture for every split API", () => {
  for (const a of SPLIT_APIS) {
    assert.ok(
      existsSync(path.join(repoRoot, "test/harness/crds", `${a.plural}.${a.group}.yaml`)),
      `${a.plural}.${a.group}.yaml`,
    );
  }
});

test("export modes: distinct label values and Link selectors; labels listed once", () => {
  assert.equal(new Set(EXPORT_MODES.map((m) => `${m.label}=${m.value}`)).size, EXPORT_MODES.length);
  assert.equal(new Set(EXPORT_MODES.map((m) => m.linkSelector)).size, EXPORT_MODES.length);
  assert.deepEqual([...EXPORT_LABELS].sort(), [...new Set(EXPORT_MODES.map((m) => m.label))].sort());
});

test("the draft accepts exactly the table's values and defaults an export's mode", () => {
  for (const api of SPLIT_API_NAMES) assert.equal(toDraft({ spec: { splits: [{ api }] } }).splits[0]!.api, api);
  assert.equal(toDraft({ spec: { splits: [{ api: "istio" }] } }).splits[0]!.api, undefined);
  for (const mode of EXPORT_MODE_NAMES) assert.equal(toDraft({ spec: { exports: [{ mode }] } }).exports[0]!.mode, mode);
  assert.equal(toDraft({ spec: { exports: [{}] } }).exports[0]!.mode, DEFAULT_EXPORT_MODE);
});
