/** Validates a source snapshot: loads its topology file with anchor files read from the same revision. */
import type { Diagnostic } from "../diagnostics.js";
import type { SourceSnapshot } from "../source/types.js";
import { loadTopology } from "../topology/index.js";
import type { Topology } from "../topology/types.js";

/** The topology of a revision, or its located diagnostics. */
export interface ValidatedRevision {
  revision: string;
  topology?: Topology;
  diagnostics: Diagnostic[];
}

/** Loads and validates the topology of a snapshot; never throws for bad input. */
export async function validateSnapshot(snapshot: SourceSnapshot, now: Date): Promise<ValidatedRevision> {
  const file = snapshot.topologyPath;
  let text: Uint8Array;
  try {
    text = await snapshot.readFile(file);
  } catch (err) {
    return {
      revision: snapshot.revision,
      diagnostics: [
        {
          severity: "error",
          code: "XL100",
          message: `${file}: cannot read the topology file at ${snapshot.revision.slice(0, 12)}: ${err instanceof Error ? err.message : String(err)}`,
          file,
          line: 1,
          col: 1,
        },
      ],
    };
  }
  const { topology, diagnostics } = await loadTopology({
    file,
    text,
    readFile: (p, opts) => snapshot.readFile(p, opts),
    now,
  });
  return { revision: snapshot.revision, diagnostics, ...(topology ? { topology } : {}) };
}
