/**
 * The export-mode table: one row per way a service is exported. Each row says
 * which label (and value) crosslink puts on the Service, which selector of the
 * Link matches it, how the mirror is named and what the change means in a
 * reviewer's words. The topology's `ExportMode` type, the draft check,
 * observe's label selectors, render's labels and Link selectors and the
 * review's implication texts derive from it; a test checks that the schema's
 * `mode` enum equals the rows.
 */

/** Linkerd's export label for gateway and remote-discovery exports. */
export const EXPORTED_LABEL = "mirror.linkerd.io/exported";
/** Linkerd's label for members of a federated service. */
export const FEDERATED_LABEL = "mirror.linkerd.io/federated";

/** What crosslink needs to know about one export mode. */
export interface ExportModeInfo {
  /** The value of an export's `mode` field. */
  mode: string;
  /** The label crosslink sets on the exported Service, and its value. */
  label: string;
  value: string;
  /** The field of the Link's spec whose `matchLabels` select this mode's Services. */
  linkSelector: string;
  /** Link versions that lack `linkSelector` (the mode cannot be mirrored through them). */
  linkVersionsWithout: readonly string[];
  /** Whether the mirror is one `<service>-federated` for every exporting cluster (else `<service>-<cluster>`). */
  federated: boolean;
  /** How a mirror reaches the exporting cluster, in the review's words: `through its gateway`. */
  route: string;
}

/** Every export mode; the first is the default. */
export const EXPORT_MODES = [
  {
    mode: "gateway",
    label: EXPORTED_LABEL,
    value: "true",
    linkSelector: "selector",
    linkVersionsWithout: [],
    federated: false,
    route: "through its gateway",
  },
  {
    mode: "remote-discovery",
    label: EXPORTED_LABEL,
    value: "remote-discovery",
    linkSelector: "remoteDiscoverySelector",
    linkVersionsWithout: [],
    federated: false,
    route: "straight to its pods (needs a flat pod network)",
  },
  {
    mode: "federated",
    label: FEDERATED_LABEL,
    value: "member",
    linkSelector: "federatedServiceSelector",
    linkVersionsWithout: ["v1alpha1"],
    federated: true,
    route: "straight to its pods, as one member of the federated service (needs a flat pod network)",
  },
] as const satisfies readonly ExportModeInfo[];

/** How a service is exported (a row of `EXPORT_MODES`). */
export type ExportMode = (typeof EXPORT_MODES)[number]["mode"];

/** The values an export's `mode` may take; the first is the default. */
export const EXPORT_MODE_NAMES: readonly ExportMode[] = EXPORT_MODES.map((m) => m.mode);

/** The mode an export has when it names none. */
export const DEFAULT_EXPORT_MODE: ExportMode = EXPORT_MODES[0].mode;

/** The row of one export mode. */
export function exportModeInfo(mode: ExportMode): ExportModeInfo {
  return EXPORT_MODES.find((m) => m.mode === mode)!;
}

/** The distinct labels export modes set (observe lists Services by each; prune drops only these). */
export const EXPORT_LABELS: readonly string[] = [...new Set(EXPORT_MODES.map((m) => m.label))];
