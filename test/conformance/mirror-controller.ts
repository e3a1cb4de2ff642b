/**
 * Linkerd's real service-mirror controller (`controller service-mirror …`) run
 * as a process for one link, with the credentials of the ServiceAccount
 * crosslink renders for the managed controller (`controller-<to>`): a
 * TokenRequest token for it in a kubeconfig of the source cluster, as the
 * pod's projected token would be. A crosslink rollout (the controller
 * Deployment's pod template changes) is simulated by restarting the process;
 * a deleted Deployment stops it.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { freePorts } from "../harness/driver.js";
import { credentialsKubeconfig } from "../../src/engine/render/credentials.js";
import { linkNames } from "../../src/engine/names.js";
import type { ClusterClient } from "../../src/kube/port.js";
import { startLinkerdProcess, type LinkerdProcess } from "./linkerd-process.js";
import type { LinkerdTools } from "./tools.js";

/** What the controller runs for. */
export interface MirrorControllerOptions {
  tools: LinkerdTools;
  /** crosslink's client of the source cluster (`from`). */
  client: ClusterClient;
  from: string;
  to: string;
  /** Where the kubeconfig is written. */
  dir: string;
  /** The multicluster namespace (default linkerd-multicluster). */
  namespace?: string;
}

/** One link's service-mirror controller process, restarted when crosslink rolls its Deployment. */
export class MirrorController {
  /** Processes started so far (the first start included). */
  starts = 0;
  /** Restarts caused by a pod-template change. */
  rollouts = 0;
  /** Every process's output, oldest first. */
  readonly history: LinkerdProcess[] = [];
  private proc: LinkerdProcess | undefined;
  private template: string | undefined;
  private follower: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private readonly ns: string;
  private readonly names: ReturnType<typeof linkNames>;

  constructor(private readonly opts: MirrorControllerOptions) {
    this.ns = opts.namespace ?? "linkerd-multicluster";
    this.names = linkNames(opts.from, opts.to);
  }

  /** The current process, if running. */
  get process(): LinkerdProcess | undefined {
    return this.proc;
  }

  /** Starts the controller (a fresh token for its ServiceAccount, as a new pod would get). */
  async start(): Promise<LinkerdProcess> {
    const { client, tools } = this.opts;
    const issued = await client.createToken(this.ns, this.names.controller, 3600);
    const kubeconfig = credentialsKubeconfig(
      {
        server: client.server,
        name: this.opts.from,
        user: this.names.controller,
        ...(client.caPem ? { caPem: client.caPem } : {}),
      },
      issued.token,
    );
    await mkdir(this.opts.dir, { recursive: true });
    const file = path.join(this.opts.dir, `controller-${this.opts.to}.kubeconfig`);
    await writeFile(file, kubeconfig, { mode: 0o600 });
    const [port] = await freePorts(1);
    this.starts++;
    this.proc = startLinkerdProcess(
      tools.controller,
      [
        "service-mirror",
        "-kubeconfig",
        file,
        "-namespace",
        this.ns,
        `-probe-service=${this.names.probeService}`,
        `-metrics-addr=127.0.0.1:${port}`,
        "-log-level=debug",
        this.opts.to,
      ],
      { HOSTNAME: `${this.names.controller}-${this.starts}` },
    );
    this.history.push(this.proc);
    return this.proc;
  }

  /** Stops the process and the rollout follower. */
  async stop(): Promise<void> {
    if (this.follower) clearInterval(this.follower);
    this.follower = undefined;
    await this.busy;
    await this.proc?.stop();
    this.proc = undefined;
  }

  /**
   * Polls the controller Deployment every `intervalMs`: a changed pod template
   * restarts the process (a rollout), a deleted Deployment stops it.
   */
  async followRollouts(intervalMs = 250): Promise<void> {
    this.template = await this.podTemplate();
    this.follower = setInterval(() => {
      this.busy = this.busy.then(() => this.checkRollout()).catch(() => undefined);
    }, intervalMs);
  }

  private async podTemplate(): Promise<string | undefined> {
    const dep = await this.opts.client.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: this.ns,
      name: this.names.controller,
    });
    return dep ? JSON.stringify((dep.spec as { template?: unknown } | undefined)?.template ?? null) : undefined;
  }

  private async checkRollout(): Promise<void> {
    const now = await this.podTemplate();
    if (now === this.template) return;
    this.template = now;
    await this.proc?.stop();
    this.proc = undefined;
    if (now === undefined) return;
    this.rollouts++;
    await this.start();
  }
}
