// CpioEntry -> newc (070701) bytes. Each entry is checked against what newc and the kernel's
// unpacker can hold before any of its bytes are written, so a value that does not fit is an
// error naming the entry instead of a silently wrong archive. Output depends only on the
// entries (inodes count from 1, c_maj/c_min are 0), so the same entries give the same bytes.
import { open } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { inputError, RambootError } from '../errors.js';
import { isDevice, renderMode, type CpioEntry } from './entry.js';
import {
  MAGIC_NEWC,
  MAX_U32,
  PATH_MAX,
  TRAILER_NAME,
  pad4,
  renderHeader,
  type HeaderFields,
} from './newc-format.js';

export interface NewcWriteResult {
  bytes: number;
  entries: number;
}

export interface NewcWriteOptions {
  /** End the sink after the trailer and wait for it to finish (default true, as pipe() does). */
  end?: boolean;
}

/** An entry ready to emit: its header+name, then its data from memory or from disk. */
interface PreparedEntry {
  header: Buffer;
  size: number;
  data?: Buffer;
  source?: { path: string; size: number };
}

const ZEROS = Buffer.alloc(4);
// Small pieces (headers, small files) are gathered into one write of about BATCH bytes: a
// stream write per piece costs more than the copy. Data of DIRECT bytes or more goes straight
// to the sink without a copy.
const BATCH = 256 * 1024;
const DIRECT = 64 * 1024;
const READ_CHUNK = 1024 * 1024;

/**
 * Writes a complete newc archive (070701) including TRAILER!!! to `sink`; inode numbers are
 * sequential from 1; honours backpressure. Ends the sink when done, or destroys it on failure
 * (as pipeline() does, so a compressor reading from it stops too); `{ end: false }` leaves
 * the sink to the caller either way, e.g. to append another segment.
 */
export async function writeNewc(
  entries: Iterable<CpioEntry> | AsyncIterable<CpioEntry>,
  sink: NodeJS.WritableStream,
  options: NewcWriteOptions = {},
): Promise<NewcWriteResult> {
  const out = new BatchedSink(sink);
  try {
    let count = 0;
    for await (const entry of entries) {
      const prepared = prepareEntry(entry, ++count);
      if (prepared.source) {
        await copySource(entry.path, prepared, out);
      } else {
        await out.push(prepared.header);
        if (prepared.data && prepared.data.length > 0) await out.push(prepared.data);
      }
      if (pad4(prepared.size) > 0) await out.push(ZEROS.subarray(0, pad4(prepared.size)));
    }
    await out.push(renderTrailer());
    await out.flush();
    if (options.end !== false) await out.end();
    return { bytes: out.bytes, entries: count };
  } catch (err) {
    // destroy() without the error: the caller gets it from us, and an 'error' event on a sink
    // nobody else listens to would crash the process.
    if (options.end !== false) (sink as { destroy?: () => void }).destroy?.();
    throw err;
  } finally {
    out.release();
  }
}

/** Synchronous convenience for small archives (tests, the early microcode segment). */
export function encodeNewc(entries: Iterable<CpioEntry>): Buffer {
  const parts: Buffer[] = [];
  let count = 0;
  for (const entry of entries) {
    const prepared = prepareEntry(entry, ++count);
    parts.push(prepared.header);
    if (prepared.source) {
      let data: Buffer;
      try {
        data = readFileSync(prepared.source.path);
      } catch (err) {
        throw readError(entry.path, prepared.source.path, err);
      }
      if (data.length !== prepared.size) throw changedError(entry.path, prepared.source.path, prepared.size, data.length);
      parts.push(data);
    } else if (prepared.data) {
      parts.push(prepared.data);
    }
    parts.push(ZEROS.subarray(0, pad4(prepared.size)));
  }
  parts.push(renderTrailer());
  return Buffer.concat(parts);
}

/** Validates one entry against newc's fields and renders its header. */
function prepareEntry(entry: CpioEntry, ino: number): PreparedEntry {
  const { path, type } = entry;
  const name = Buffer.from(path, 'utf8');
  const fail = (what: string, hint?: string) => inputError(`cpio entry '${path}': ${what}`, hint);
  if (path === '' || path.startsWith('/')) throw fail('archive paths are relative and not empty', "write 'bin/sh', not '/bin/sh'");
  if (path.includes('\0')) throw fail('the path contains a NUL byte, which ends a newc name');
  if (name.toString('utf8') !== path) throw fail('the path is not valid Unicode (a lone surrogate)');
  if (path.split('/').includes('..')) throw fail("'..' in an archive path", 'give the normalized path inside the image');
  // The kernel stops unpacking at this name, so an entry called that would end the archive.
  if (path === TRAILER_NAME) throw fail(`'${TRAILER_NAME}' is newc's end-of-archive marker`);
  // c_namesize counts bytes (UTF-8) and the NUL; init/initramfs.c skips names over PATH_MAX.
  if (name.length + 1 > PATH_MAX) throw fail(`the name is ${name.length + 1} bytes with its NUL; the kernel skips names over ${PATH_MAX}`);
  if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
    throw fail(`mode ${String(entry.mode)} is not permission bits (0..0o7777)`, 'the type bits come from `type`');
  }
  const u32 = (what: string, value: number | undefined, hint?: string) => {
    if (value === undefined || !Number.isInteger(value) || value < 0 || value > MAX_U32) {
      throw fail(`${what} ${String(value)} does not fit newc's unsigned 32-bit field`, hint);
    }
    return value;
  };
  const device = isDevice(type);
  if (!device && (entry.rdevMajor !== undefined || entry.rdevMinor !== undefined)) throw fail(`a ${type} has no device number`);
  if (type !== 'symlink' && entry.linkTarget !== undefined) throw fail(`a ${type} has no link target`);
  if (type !== 'file' && (entry.data !== undefined || entry.source !== undefined)) throw fail(`a ${type} has no file content`);
  if (entry.data !== undefined && entry.source !== undefined) throw fail('give either data or source, not both');

  let size = 0;
  let data: Buffer | undefined;
  if (type === 'file') {
    data = entry.data;
    size = entry.source ? entry.source.size : (data?.length ?? 0);
    if (!Number.isInteger(size) || size < 0) throw fail(`source size ${String(size)} is not a byte count`);
    if (size > MAX_U32) {
      throw fail(`${size} bytes do not fit newc's 32-bit c_filesize (at most 4 GiB - 1)`, 'keep files of 4 GiB or more out of the initrd');
    }
  } else if (type === 'symlink') {
    // newc stores the target as the entry's data, without a NUL (as GNU cpio writes it).
    if (!entry.linkTarget || entry.linkTarget.includes('\0')) throw fail('a symlink needs a non-empty target without NUL bytes');
    data = Buffer.from(entry.linkTarget, 'utf8');
    size = data.length;
    if (size > PATH_MAX) throw fail(`the link target is ${size} bytes; the kernel skips targets over ${PATH_MAX}`);
  }

  const fields: HeaderFields = {
    c_ino: u32('inode', ino),
    c_mode: renderMode(type, entry.mode),
    c_uid: u32('uid', entry.uid),
    c_gid: u32('gid', entry.gid),
    c_nlink: u32('nlink', entry.nlink ?? (type === 'dir' ? 2 : 1)),
    c_mtime: u32('mtime', entry.mtime, 'newc holds seconds 0..4294967295 (1970..2106); set SOURCE_DATE_EPOCH or fix the timestamp'),
    c_filesize: size,
    // c_maj/c_min are the device of the packed filesystem; the kernel uses them only to pair
    // hard links, which entries do not express, so 0 keeps the output reproducible.
    c_maj: 0,
    c_min: 0,
    c_rmaj: device ? u32('rdevMajor', entry.rdevMajor, 'devices need rdevMajor and rdevMinor') : 0,
    c_rmin: device ? u32('rdevMinor', entry.rdevMinor, 'devices need rdevMajor and rdevMinor') : 0,
    c_namesize: name.length + 1,
    c_chksum: 0, // 070701 has no checksum
  };
  return { header: renderHeader(MAGIC_NEWC, fields, name), size, data, source: entry.source };
}

function renderTrailer(): Buffer {
  const name = Buffer.from(TRAILER_NAME);
  const zero: HeaderFields = {
    c_ino: 0, c_mode: 0, c_uid: 0, c_gid: 0, c_nlink: 1, c_mtime: 0, c_filesize: 0,
    c_maj: 0, c_min: 0, c_rmaj: 0, c_rmin: 0, c_namesize: name.length + 1, c_chksum: 0,
  };
  return renderHeader(MAGIC_NEWC, zero, name);
}

/**
 * Streams a file's bytes after its header. The size was fixed in the header before the data,
 * so a file that changed since it was planned must fail here, not leave a misframed archive.
 */
async function copySource(entryPath: string, prepared: PreparedEntry, out: BatchedSink): Promise<void> {
  const { path, size } = prepared.source!;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw readError(entryPath, path, err);
  }
  try {
    const actual = (await handle.stat()).size;
    if (actual !== size) throw changedError(entryPath, path, size, actual);
    await out.push(prepared.header);
    // The last read asks for one byte past the end: getting it means the file grew (or stat
    // did not tell its size, as in /proc); a short read of that byte is end of file.
    let done = 0;
    for (;;) {
      const want = Math.min(size - done, READ_CHUNK);
      const last = done + want === size;
      const buf = Buffer.allocUnsafe(last ? want + 1 : want);
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (done + bytesRead > size) throw changedError(entryPath, path, size, done + bytesRead, 'at least ');
      if (bytesRead === 0) {
        if (done < size) throw changedError(entryPath, path, size, done);
        break;
      }
      done += bytesRead;
      await out.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      if (last && bytesRead === want) break;
    }
  } finally {
    await handle.close();
  }
}

function readError(entryPath: string, path: string, err: unknown): RambootError {
  return new RambootError('io', `cannot read ${path} for cpio entry '${entryPath}': ${(err as Error).message}`, undefined, { cause: err });
}

function changedError(entryPath: string, path: string, expected: number, got: number, qualifier = ''): RambootError {
  return inputError(
    `${path} changed while packing cpio entry '${entryPath}': expected ${expected} bytes, found ${qualifier}${got}`,
    'do not modify the root tree while ramboot reads it',
  );
}

/** Gathers small writes, passes big ones through, waits on backpressure, never hangs on a dead sink. */
class BatchedSink {
  bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private failure: Error | undefined;
  private readonly onError = (err: Error) => {
    this.failure ??= err;
  };

  constructor(private readonly sink: NodeJS.WritableStream) {
    sink.on('error', this.onError);
  }

  async push(buf: Buffer): Promise<void> {
    this.bytes += buf.length;
    if (buf.length >= DIRECT) {
      await this.flush();
      await this.write(buf);
      return;
    }
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    if (this.pendingBytes >= BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const batch = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.write(batch);
  }

  async end(): Promise<void> {
    this.check();
    await this.waitFor('finish', () => this.sink.end());
  }

  release(): void {
    this.sink.removeListener('error', this.onError);
  }

  private async write(buf: Buffer): Promise<void> {
    this.check();
    if (!this.sink.write(buf)) await this.waitFor('drain');
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if ((this.sink as { destroyed?: boolean }).destroyed) throw new RambootError('io', 'the cpio output stream was closed before the archive was complete');
  }

  /** Resolves on `event`; rejects on 'error' or on 'close' before it, so a dead sink cannot hang us. */
  private waitFor(event: 'drain' | 'finish', start?: () => void): Promise<void> {
    const sink = this.sink;
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        sink.removeListener(event, onEvent);
        sink.removeListener('error', onError);
        sink.removeListener('close', onClose);
      };
      const onEvent = () => {
        cleanup();
        resolve();
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onClose = () => {
        cleanup();
        if (event === 'finish' && (sink as { writableFinished?: boolean }).writableFinished) resolve();
        else reject(new RambootError('io', 'the cpio output stream was closed before the archive was complete'));
      };
      sink.on(event, onEvent);
      sink.on('error', onError);
      sink.on('close', onClose);
      start?.();
    });
  }
}
