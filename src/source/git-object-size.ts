/**
 * The size of a git object read from its header, without inflating the
 * object: for a loose object the `<type> <size>\0` header at the start of its
 * zlib stream, for a packed object the pack entry header (and, for a delta,
 * the result size at the start of the delta). isomorphic-git always inflates
 * a whole object to read it, so a blob's size is checked here first.
 */
import { open, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";

/** How many bytes of an entry are read to find its header (a delta's size varints come first in its zlib data). */
const HEAD_BYTES = 4096;

/** Inflates the start of a zlib stream from a truncated buffer. */
function inflateStart(buf: Uint8Array): Buffer {
  try {
    return zlib.inflateSync(buf, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch {
    return Buffer.alloc(0);
  }
}

async function readAt(file: string, position: number, length: number): Promise<Buffer> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Parses a little-endian base-128 varint as git's delta header writes it; returns value and next index. */
function deltaVarint(buf: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return [value, i + 1];
  }
  return undefined;
}

async function looseSize(gitdir: string, oid: string): Promise<number | undefined> {
  const file = path.join(gitdir, "objects", oid.slice(0, 2), oid.slice(2));
  let head: Buffer;
  try {
    head = await readAt(file, 0, HEAD_BYTES);
  } catch {
    return undefined;
  }
  const text = inflateStart(head);
  const nul = text.indexOf(0);
  const m = nul > 0 ? /^[a-z]+ (\d+)$/.exec(text.subarray(0, nul).toString("latin1")) : null;
  return m ? Number(m[1]) : undefined;
}

/** Finds `oid` in a pack index (version 2); returns its offset in the pack. */
function idxOffset(idx: Buffer, oid: string): number | undefined {
  if (idx.length < 8 + 1024 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) return undefined;
  const want = Buffer.from(oid, "hex");
  const first = want[0]!;
  const fan = (i: number) => idx.readUInt32BE(8 + 4 * i);
  const count = fan(255);
  let lo = first === 0 ? 0 : fan(first - 1);
  let hi = fan(first);
  const names = 8 + 1024;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = idx.compare(want, 0, 20, names + 20 * mid, names + 20 * mid + 20) * -1;
    if (c === 0) {
      const offsets = names + 20 * count + 4 * count;
      const off = idx.readUInt32BE(offsets + 4 * mid);
      if (off & 0x80000000) {
        const large = offsets + 4 * count + 8 * (off & 0x7fffffff);
        return Number(idx.readBigUInt64BE(large));
      }
      return off;
    }
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return undefined;
}

/** The size of the object at `offset` of a pack: the entry header's size, or a delta's result size. */
function packEntrySize(entry: Buffer): number | undefined {
  if (!entry.length) return undefined;
  let b = entry[0]!;
  const type = (b >> 4) & 7;
  let size = b & 0x0f;
  let shift = 4;
  let i = 1;
  while (b & 0x80) {
    if (i >= entry.length) return undefined;
    b = entry[i++]!;
    size += (b & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (type >= 1 && type <= 4) return size;
  if (type === 6) {
    // offset to the base: a big-endian varint
    do {
      if (i >= entry.length) return undefined;
    } while (entry[i++]! & 0x80);
  } else if (type === 7) i += 20;
  else return undefined;
  const delta = inflateStart(entry.subarray(i));
  const base = deltaVarint(delta, 0);
  const result = base && deltaVarint(delta, base[1]);
  return result ? result[0] : undefined;
}

async function packedSize(gitdir: string, oid: string): Promise<number | undefined> {
  const dir = path.join(gitdir, "objects", "pack");
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".idx"));
  } catch {
    return undefined;
  }
  for (const name of names) {
    const offset = idxOffset(await readFile(path.join(dir, name)), oid);
    if (offset === undefined) continue;
    return packEntrySize(await readAt(path.join(dir, name.replace(/\.idx$/, ".pack")), offset, HEAD_BYTES));
  }
  return undefined;
}

/** The inflated size of object `oid` in `gitdir`, from its header; undefined when it cannot be told that way. */
export async function gitObjectSize(gitdir: string, oid: string): Promise<number | undefined> {
  return (await looseSize(gitdir, oid)) ?? (await packedSize(gitdir, oid));
}
