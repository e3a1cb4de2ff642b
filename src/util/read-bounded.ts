/**
 * Bounded file reads for input that may be hostile: a path is resolved
 * (symlinks included) and must stay inside a root directory when one is
 * given; the file is opened without blocking (a FIFO cannot hang the open),
 * `fstat`ed, and refused unless it is a regular file under the size limit,
 * before a single byte is read; the read itself stops at the limit.
 */
import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import path from "node:path";
import { CrosslinkError } from "../errors.js";

/** Why a bounded read was refused. `code` follows errno names where one fits. */
export type BoundedReadCode = "ENOENT" | "EISDIR" | "ENOTREG" | "EFBIG" | "EOUTSIDE" | "EACCES" | "EIO";

/** A refused or failed bounded read, with a code callers turn into their own diagnostics. */
export class BoundedReadError extends CrosslinkError<BoundedReadCode> {
  /** Creates an error; `size` is the file's size when it was refused for being too large. */
  constructor(
    code: BoundedReadCode,
    message: string,
    readonly size?: number,
  ) {
    super(code, message, size === undefined ? {} : { data: { size } });
    this.name = "BoundedReadError";
  }
}

/** Options of `readBounded`. */
export interface BoundedReadOptions {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** When set, the file's real path (symlinks resolved) must lie inside this directory's real path. */
  root?: string;
}

/** Whether `target` is `root` itself or lies beneath it, lexically (both absolute, or both relative to the same directory). */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Resolves `file` with symlinks and checks it lies inside `root` (also
 * resolved); returns the real path. Throws `BoundedReadError` EOUTSIDE when
 * it does not, ENOENT when it does not exist.
 */
export async function resolveInside(root: string, file: string): Promise<string> {
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(path.resolve(root, file));
  } catch (err) {
    throw fromErrno(err, file);
  }
  if (!isInside(realRoot, real))
    throw new BoundedReadError("EOUTSIDE", `${file} resolves to ${real}, outside ${realRoot}`);
  return real;
}

function fromErrno(err: unknown, file: string): BoundedReadError {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return new BoundedReadError("ENOENT", `${file}: no such file`);
  if (code === "EACCES" || code === "EPERM") return new BoundedReadError("EACCES", `${file}: permission denied`);
  if (code === "EISDIR") return new BoundedReadError("EISDIR", `${file}: is a directory`);
  // ENXIO: a socket (or a FIFO opened for writing without a reader); not a file either way.
  if (code === "ENXIO" || code === "ENODEV")
    return new BoundedReadError("ENOTREG", `${file}: not a regular file (a device, FIFO or socket)`);
  if (code === "ELOOP") return new BoundedReadError("EOUTSIDE", `${file}: too many levels of symbolic links`);
  return new BoundedReadError("EIO", `${file}: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * Reads a regular file of at most `maxBytes` bytes. FIFOs, sockets, devices
 * (`/dev/zero`, `/dev/stdin`) and directories are refused after a
 * non-blocking open and `fstat`, before any read; a file that grows past the
 * limit while being read is refused too. Never reads more than `maxBytes + 1`.
 */
export async function readBounded(file: string, opts: BoundedReadOptions): Promise<Buffer> {
  const target = opts.root !== undefined ? await resolveInside(opts.root, file) : file;
  const flags =
    constants.O_RDONLY |
    constants.O_NONBLOCK |
    constants.O_NOCTTY |
    (opts.root !== undefined ? constants.O_NOFOLLOW : 0);
  let handle;
  try {
    handle = await open(target, flags);
  } catch (err) {
    throw fromErrno(err, file);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new BoundedReadError("EISDIR", `${file}: is a directory`);
    if (!st.isFile()) throw new BoundedReadError("ENOTREG", `${file}: not a regular file (a device, FIFO or socket)`);
    if (st.size > opts.maxBytes)
      throw new BoundedReadError(
        "EFBIG",
        `${file}: ${st.size} bytes, more than the ${opts.maxBytes} accepted`,
        st.size,
      );
    const buf = Buffer.allocUnsafe(Math.min(st.size, opts.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) {
        if (n > opts.maxBytes)
          throw new BoundedReadError(
            "EFBIG",
            `${file}: grew past the ${opts.maxBytes} bytes accepted while being read`,
            n,
          );
        break;
      }
    }
    return buf.subarray(0, n);
  } catch (err) {
    throw err instanceof BoundedReadError ? err : fromErrno(err, file);
  } finally {
    await handle.close();
  }
}
