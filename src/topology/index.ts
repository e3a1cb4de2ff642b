/** The topology stage's public API. */
export { loadTopology, loadTopologyFile, type LoadInput, type LoadResult, type LoadFileOptions } from "./load.js";
export { readForComparison, readTolerant } from "./tolerant.js";
export { CODES, type Code } from "./codes.js";
export { checkPem, type ReadFile } from "./anchors.js";
export { parseDuration, formatDuration } from "./duration.js";
export { topologySchema } from "./schema.js";
export type * from "./types.js";
