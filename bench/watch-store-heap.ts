/**
 * Heap of the watch store's Services: LISTs every Service of each cluster of a kubeconfig (a converged
 * bench fleet, `bench:daemon --keep DIR`) and holds them in ObjectStores, once slimmed as before (no
 * last-applied, no status, other managers' managedFields cut to the export labels) and once with the
 * default policy (Services crosslink does not own projected to what observe and plan read). Prints, for
 * each, the objects held and heapUsed after a GC (total and per object), and one `BENCH_JSON {...}` line.
 *
 * Usage: npm run build && node --expose-gc dist/bench/watch-store-heap.js --kubeconfig DIR/kubeconfig
 */
import { parseArgs } from "node:util";
import { clientForContext, loadKubeConfig } from "../src/kube/access.js";
import type { KubeObject } from "../src/kube/object.js";
import { DEFAULT_SLIM } from "../src/kube/watch-cache.js";
import { ObjectStore, slimObject, type SlimPolicy } from "../src/kube/watch-store.js";

const { values } = parseArgs({ options: { kubeconfig: { type: "string" } } });
if (!values.kubeconfig) throw new Error("--kubeconfig FILE is required");
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
const MiB = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

/** The policy before foreign Services were projected: the default without its projection. */
const SLIM_ONLY: SlimPolicy = { fullFieldsOf: DEFAULT_SLIM.fullFieldsOf, keepLabels: DEFAULT_SLIM.keepLabels };

const kc = loadKubeConfig(values.kubeconfig);
const contexts = kc.getContexts().map((c) => c.name);

/** Every cluster's Services, as JSON text (parsed anew per policy, as a LIST's body is). */
async function listAll(): Promise<string[]> {
  const out: string[] = [];
  for (const name of contexts) {
    const client = clientForContext(kc, name, name)!;
    try {
      const l = await client.listVersioned("v1", "Service");
      out.push(JSON.stringify(l));
    } finally {
      client.close();
    }
  }
  return out;
}

/** heapUsed (after a GC) of stores holding every listed Service slimmed by `policy`. */
function measure(
  bodies: readonly string[],
  policy: SlimPolicy,
): { objects: number; heapMiB: number; bytesPerObject: number } {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const stores = bodies.map((body) => {
    const l = JSON.parse(body) as { items: KubeObject[]; resourceVersion: string };
    const store = new ObjectStore({ apiVersion: "v1", kind: "Service" }, (o) => slimObject(o, policy));
    store.replace(l.items, l.resourceVersion);
    return store;
  });
  gc!();
  const used = process.memoryUsage().heapUsed - before;
  const objects = stores.reduce((n, s) => n + s.size, 0);
  return { objects, heapMiB: MiB(used), bytesPerObject: Math.round(used / Math.max(1, objects)) };
}

const bodies = await listAll();
const before = measure(bodies, SLIM_ONLY);
const after = measure(bodies, DEFAULT_SLIM);
console.log(
  `${contexts.length} clusters, ${before.objects} Services: slimmed only ${before.heapMiB} MiB (${before.bytesPerObject} B each); ` +
    `foreign ones projected ${after.heapMiB} MiB (${after.bytesPerObject} B each)`,
);
console.log(`BENCH_JSON ${JSON.stringify({ bench: "watch-store-heap", clusters: contexts.length, before, after })}`);
