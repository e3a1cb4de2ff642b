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

/**
 * The pack data of a git-upload-pack response (side-band band 1), read from
 * the chunks the response arrived in (so the response itself is never copied
 * whole), or undefined when it carries none.
 */
export function packOfResponse(chunks: readonly Uint8Array[]): Buffer | undefined {
  const pieces: Uint8Array[] = [];
  let total = 0;
  let at = 0;
  let offset = 0;
  /** Passes the next `n` bytes to `sink` (in pieces, where they cross chunks); false when the response ends first. */
  const take = (n: number, sink?: (piece: Uint8Array) => void): boolean => {
    while (n > 0) {
      const chunk = chunks[at];
      if (!chunk) return false;
      const k = Math.min(n, chunk.byteLength - offset);
      sink?.(chunk.subarray(offset, offset + k));
      offset += k;
      n -= k;
      if (offset === chunk.byteLength) {
        at++;
        offset = 0;
      }
    }
    return true;
  };
  const band1 = (piece: Uint8Array) => {
    pieces.push(piece);
    total += piece.byteLength;
  };
  for (;;) {
    let head = "";
    if (!take(4, (p) => (head += Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("latin1")))) break;
    const len = parseInt(head, 16);
    if (!Number.isFinite(len)) return undefined;
    if (len <= 4) continue; // flush, delimiter, or an empty line
    let band = -1;
    if (!take(1, (p) => (band = p[0]!))) break;
    if (!take(len - 5, band === 1 ? band1 : undefined)) break;
  }
  return pieces.length ? Buffer.concat(pieces, total) : undefined;
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
