/**
 * The engine's view of src/names: every name and label crosslink derives. The
 * table lives outside the engine so the topology rules read it without
 * depending on the engine.
 */
export * from "../names/index.js";
