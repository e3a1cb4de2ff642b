/**
 * Sharding's pure core: which replica reconciles which cluster, and which
 * replicas are alive. Assignment is rendezvous (highest-random-weight)
 * hashing: each cluster goes to the live member with the highest
 * sha256(member, cluster) score, so when a member joins or leaves only the
 * clusters it gains or held move. Liveness is judged as the Lease election
 * judges expiry (lease.ts): by the local clock since a member's record was
 * last seen to change, so clock skew between replicas does not matter.
 */
import { createHash } from "node:crypto";

/** The replica's score for a cluster: the first 8 bytes of sha256(member NUL cluster). */
export function shardScore(member: string, cluster: string): bigint {
  return createHash("sha256").update(`${member}\0${cluster}`).digest().readBigUInt64BE(0);
}

/** The member a cluster is assigned to (highest score, ties by name); undefined without members. */
export function ownerOf(cluster: string, members: readonly string[]): string | undefined {
  let best: { member: string; score: bigint } | undefined;
  for (const member of members) {
    const score = shardScore(member, cluster);
    if (!best || score > best.score || (score === best.score && member < best.member)) best = { member, score };
  }
  return best?.member;
}

/** Every cluster's owner among the members. */
export function assignClusters(clusters: readonly string[], members: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of clusters) {
    const owner = ownerOf(c, members);
    if (owner !== undefined) out.set(c, owner);
  }
  return out;
}

/** One member Lease as listed: who holds it, what identifies this version of it, and its duration. */
export interface MemberRecord {
  identity: string;
  /** Changes on every renewal (holder, renewTime, resourceVersion). */
  key: string;
  leaseDurationMs: number;
}

/**
 * Liveness from successive LISTs of Leases: a record (a member, or a cluster
 * Lease by name) is live while it changed less than its lease duration ago
 * (local clock), and gone once released (no holder) or deleted.
 */
export class LeaseLiveness {
  private readonly seen = new Map<string, { key: string; at: number; durationMs: number }>();

  /** Records a LIST taken at `nowMs`; returns the live members, sorted. */
  observe(records: readonly MemberRecord[], nowMs: number): string[] {
    const listed = new Set<string>();
    for (const r of records) {
      if (!r.identity) continue;
      listed.add(r.identity);
      const prev = this.seen.get(r.identity);
      if (prev?.key !== r.key) this.seen.set(r.identity, { key: r.key, at: nowMs, durationMs: r.leaseDurationMs });
    }
    for (const id of [...this.seen.keys()]) if (!listed.has(id)) this.seen.delete(id);
    return this.live(nowMs);
  }

  /** When the record was first seen in its current version (local clock), if listed. */
  since(identity: string): { key: string; at: number } | undefined {
    const s = this.seen.get(identity);
    return s && { key: s.key, at: s.at };
  }

  /** The members live at `nowMs`, sorted. */
  live(nowMs: number): string[] {
    return [...this.seen]
      .filter(([, s]) => nowMs - s.at <= s.durationMs)
      .map(([id]) => id)
      .sort();
  }
}

/** The clusters that change owner between two assignments: cluster → [from, to] (undefined: none). */
export function handovers(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): Map<string, [string | undefined, string | undefined]> {
  const out = new Map<string, [string | undefined, string | undefined]>();
  for (const c of new Set([...before.keys(), ...after.keys()]))
    if (before.get(c) !== after.get(c)) out.set(c, [before.get(c), after.get(c)]);
  return out;
}

/** A Kubernetes object name part from any text: lower-case DNS-1123 characters, bounded, with a hash suffix when changed or cut. */
export function leaseNamePart(text: string, max = 40): string {
  const clean = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (clean === text && clean.length <= max) return clean;
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 8);
  return `${clean.slice(0, max - 9).replace(/-+$/, "")}-${hash}`.replace(/^-/, "");
}
