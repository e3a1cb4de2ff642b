/**
 * The table of crosslink's subcommands, by name. Each command module is
 * imported only when it runs, so `validate` does not pay for loading the
 * Kubernetes client.
 */
import type { Command } from "./command.js";

/** A table entry: the one-line summary for usage, and the command's loader. */
export interface CommandEntry {
  summary: string;
  load(): Promise<Command>;
}

/** Every subcommand crosslink knows; `main` dispatches on this table. */
export const commands: Record<string, CommandEntry> = {
  validate: {
    summary: "check multicluster.yaml and print every problem",
    load: async () => (await import("./validate.js")).validateCommand,
  },
  diff: {
    summary: "show the plan: what apply would change in each cluster",
    load: async () => (await import("./diff.js")).diffCommand,
  },
  apply: {
    summary: "apply the plan to every cluster (server-side apply)",
    load: async () => (await import("./apply.js")).applyCommand,
  },
  render: {
    summary: "write the desired manifests per cluster to a directory",
    load: async () => (await import("./render.js")).renderCommand,
  },
  run: {
    summary: "run the GitOps daemon: reconcile from git on a schedule and on webhooks",
    load: async () => (await import("./run.js")).runCommand,
  },
  status: {
    summary: "print the status of a running crosslink daemon",
    load: async () => (await import("./status.js")).statusCommand,
  },
  check: {
    summary: "check the health of every cluster and link: credentials, controllers, mirrors, trust",
    load: async () => (await import("./check.js")).checkCommand,
  },
  import: {
    summary: "write a topology that describes the live clusters (adopt a mesh Linkerd's CLI made)",
    load: async () => (await import("./import.js")).importCommand,
  },
  certs: {
    summary: "trust anchors and identity issuers: create, reissue into clusters (staged rotation), list expiry",
    load: async () => (await import("./certs.js")).certsCommand,
  },
  plan: {
    summary: "review a change: what going from one git revision to another does to the mesh",
    load: async () => (await import("./plan.js")).planCommand,
  },
};
