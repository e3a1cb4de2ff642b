// The harness installs Linkerd's own CRDs: each fixture in test/harness/crds/ for a *.linkerd.io CRD
// equals what Linkerd's CLI renders now, field by field.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { crdDir } from "../harness/paths.js";
import { CRD_NAMES } from "../harness/seed-data.js";
import { LINKERD_CRD_SOURCES, renderLinkerdCrds } from "./linkerd-cli.js";
import { requireLinkerdTools } from "./tools.js";

test("the harness's Linkerd CRDs are the ones linkerd install --crds / multicluster install render", async (t) => {
  const { tools, skip } = await requireLinkerdTools();
  if (!tools) return t.skip(skip);
  const rendered = await renderLinkerdCrds(tools);
  assert.deepEqual([...rendered.keys()].sort(), LINKERD_CRD_SOURCES.map((s) => s.name).sort());
  for (const name of CRD_NAMES.filter((n) => n.endsWith(".linkerd.io"))) {
    const crd = rendered.get(name);
    assert.ok(crd, `${name}: the harness installs it, but it is not among the CRDs taken from Linkerd's CLI`);
    const fixture = parse(await readFile(path.join(crdDir, `${name}.yaml`), "utf8")) as unknown;
    assert.deepEqual(
      fixture,
      crd,
      `${name}: fixture differs from Linkerd's output; run node dist/test/conformance/linkerd-cli.js write-crds`,
    );
  }
  // What crosslink and Linkerd's code read: Link v1alpha3 stored with format: duration probe period; Server v1beta3 served.
  const link = rendered.get("links.multicluster.linkerd.io") as unknown as {
    spec: {
      versions: {
        name: string;
        storage: boolean;
        schema: {
          openAPIV3Schema: {
            properties: { spec: { properties: { probeSpec: { properties: { period: { format?: string } } } } } };
          };
        };
      }[];
    };
  };
  const v3 = link.spec.versions.find((v) => v.name === "v1alpha3");
  assert.equal(v3?.storage, true);
  assert.equal(v3?.schema.openAPIV3Schema.properties.spec.properties.probeSpec.properties.period.format, "duration");
  const servers = rendered.get("servers.policy.linkerd.io") as unknown as {
    spec: { versions: { name: string; served: boolean }[] };
  };
  assert.ok(servers.spec.versions.some((v) => v.name === "v1beta3" && v.served));
});
