/**
 * Trust: every cluster's anchors compared with the topology's bundle; linked
 * clusters must hold identical anchor sets (what `linkerd multicluster check`
 * demands); each issuer must chain to the bundle. Drift is reported; the
 * bundle is written (in `linkerd-config` and `linkerd-identity-trust-roots`)
 * only when the topology sets `manageTrust`.
 */
import yaml from "js-yaml";
import type { KubeObject } from "../../kube/object.js";
import { bundleFingerprints, chainsTo, sameCertificates } from "../../pki/pem.js";
import type { Topology } from "../../topology/types.js";
import type { ClusterFacts } from "../facts.js";
import type { DesiredPatch, Finding } from "./desired.js";
import { rotationFindings, rotationState } from "./rotation.js";

/** The topology's bundle: every anchor's PEM, in topology order, newline-separated. */
export function topologyBundle(topology: Topology): string {
  return topology.trustAnchors.map((a) => a.pem.trim()).join("\n") + "\n";
}

/** Trust findings and (with manageTrust) patches, for all observed clusters. */
export function renderTrust(
  topology: Topology,
  facts: ReadonlyMap<string, ClusterFacts>,
): { patches: Map<string, DesiredPatch[]>; findings: Finding[] } {
  const bundle = topologyBundle(topology);
  const wanted = topology.trustAnchors.flatMap((a) => a.fingerprints);
  const patches = new Map<string, DesiredPatch[]>();
  const findings: Finding[] = [];
  const liveFps = new Map<string, string[]>();
  const rotation = rotationState(topology, facts);
  if (rotation) findings.push(...rotationFindings(rotation, topology.manageTrust));
  // Stage 3 is gated: no bundle loses an anchor while some cluster's issuer may still chain to it.
  const wantedSet = new Set(wanted);
  const dropBlocked = rotation !== undefined && !rotation.next && !rotation.dropAllowed;

  for (const [name, f] of facts) {
    if (!f.linkerd) {
      findings.push({
        severity: "error",
        code: "XL631",
        cluster: name,
        message: `${name}: no readable linkerd-config ConfigMap; is Linkerd installed?`,
        hint: "install Linkerd's control plane, or fix the cluster's linkerdNamespace",
      });
      continue;
    }
    const fps = bundleFingerprints(f.linkerd.anchorsPem);
    liveFps.set(name, fps);
    const rootsFps = f.trustRoots ? bundleFingerprints(f.trustRoots.pem) : fps;
    const inSync = sameCertificates(fps, wanted) && sameCertificates(rootsFps, wanted);
    if (f.issuerCertPem && !chainsTo(f.issuerCertPem, bundle)) {
      findings.push({
        severity: "error",
        code: "XL632",
        cluster: name,
        message: `${name}: the identity issuer certificate does not chain to any trust anchor of the topology`,
        hint: "issue the cluster's identity issuer from one of spec.trustAnchors, or add its root to the bundle",
      });
    }
    if (inSync) continue;
    const drops = [...fps, ...rootsFps].some((fp) => !wantedSet.has(fp));
    if (topology.manageTrust && dropBlocked && drops) continue; // XL637 says why
    if (topology.manageTrust) {
      patches.set(name, trustPatches(f, bundle));
      findings.push({
        severity: "warning",
        code: "XL633",
        cluster: name,
        message: `${name}: trust bundle differs from the topology; crosslink will write it. Restart meshed workloads afterwards (proxies read anchors at start)`,
        hint: "kubectl rollout restart the meshed deployments once the bundle is written",
      });
    } else {
      findings.push({
        severity: "warning",
        code: "XL634",
        cluster: name,
        message: `${name}: trusts ${fps.length} anchor(s) that differ from the topology's ${wanted.length}`,
        hint: "rotate the cluster's anchors, or set spec.manageTrust: true to let crosslink write the bundle",
      });
    }
  }
  if (!topology.manageTrust) {
    for (const link of topology.links) {
      const a = liveFps.get(link.from);
      const b = liveFps.get(link.to);
      if (a && b && !sameCertificates(a, b)) {
        findings.push({
          severity: "error",
          code: "XL635",
          cluster: link.from,
          message: `link ${link.from}→${link.to}: the clusters do not hold identical trust anchors; 'clusters share trust anchors' will fail`,
          hint: "give both clusters the same bundle (spec.manageTrust: true lets crosslink write it)",
        });
      }
    }
  }
  return { patches, findings };
}

function trustPatches(f: ClusterFacts, bundle: string): DesiredPatch[] {
  const cm = f.linkerd!.configMap;
  const values = (yaml.load(String((cm.data as Record<string, string>).values)) ?? {}) as Record<string, unknown>;
  values.identityTrustAnchorsPEM = bundle;
  const patch = (name: string, data: Record<string, string>): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: cm.metadata.namespace ?? "linkerd" },
    data,
  });
  return [
    {
      object: patch("linkerd-config", { values: yaml.dump(values, { lineWidth: -1 }) }),
      force: true,
      reason: "trust bundle",
    },
    { object: patch("linkerd-identity-trust-roots", { "ca-bundle.crt": bundle }), force: true, reason: "trust bundle" },
  ];
}
