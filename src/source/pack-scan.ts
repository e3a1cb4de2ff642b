/**
 * Checks the objects of a fetched pack before isomorphic-git indexes it:
 * isomorphic-git inflates every object whole, so one blob that deflates to
 * almost nothing (200 MiB of one repeated line is a few hundred kB) costs
 * its full size in memory whatever the download limit. Each entry's header
 * gives its inflated size (a delta's result size is at the start of its
 * data); an object over the limit refuses the pack. Entries are inflated
 * only to find where they end, each bounded by the limit.
 */
import zlib from "node:zlib";

/** The pack data of a git-upload-pack response (side-band band 1), or undefined when it carries none. */
export function packOfResponse(body: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= body.length) {
    const len = parseInt(body.toString("latin1", pos, pos + 4), 16);
    if (!Number.isFinite(len)) return undefined;
    if (len < 4) {
      pos += 4;
      continue;
    }
    if (body[pos + 4] === 1) parts.push(body.subarray(pos + 5, pos + len));
    pos += len;
  }
  return parts.length ? Buffer.concat(parts) : undefined;
}

/** The first object of `pack` whose inflated size is over `maxBytes`, or undefined when all fit (or the pack cannot be read: isomorphic-git then reports it). */
export function oversizedObject(pack: Buffer, maxBytes: number): { index: number; size: number } | undefined {
  if (pack.length < 12 || pack.toString("latin1", 0, 4) !== "PACK") return undefined;
  const count = pack.readUInt32BE(8);
  let pos = 12;
  for (let index = 0; index < count && pos < pack.length; index++) {
    let b = pack[pos++]!;
    const type = (b >> 4) & 7;
    let size = b & 0x0f;
    let shift = 4;
    while (b & 0x80 && pos < pack.length) {
      b = pack[pos++]!;
      size += (b & 0x7f) * 2 ** shift;
      shift += 7;
    }
    if (size > maxBytes) return { index, size };
    if (type === 6) while (pos < pack.length && pack[pos++]! & 0x80);
    else if (type === 7) pos += 20;
    let out: Buffer;
    let used: number;
    try {
      const r = zlib.inflateSync(pack.subarray(pos), { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      };
      out = r.buffer;
      used = r.engine.bytesWritten;
    } catch {
      return undefined;
    }
    if (type === 6 || type === 7) {
      const result = deltaResultSize(out);
      if (result !== undefined && result > maxBytes) return { index, size: result };
    }
    pos += used;
  }
  return undefined;
}

/** The result size of a git delta: its second little-endian base-128 varint. */
function deltaResultSize(delta: Buffer): number | undefined {
  let i = 0;
  let value = 0;
  for (let n = 0; n < 2; n++) {
    value = 0;
    let shift = 0;
    let b: number;
    do {
      if (i >= delta.length) return undefined;
      b = delta[i++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
  }
  return value;
}
