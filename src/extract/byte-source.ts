// Sequential reads of an image file with push-back. A segment's decoder takes chunks, and what
// it does not consume (the bytes after a compressed stream's end, after a cpio trailer) goes
// back here for the next segment. Memory is one chunk plus what was pushed back.
// It is also the SeekableFile a system decompressor reads the image through (tool-decode.ts).
import { closeSync, constants, openSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { SeekableFile } from '../compress/decompress-stream.js';
import { RambootError } from '../errors.js';
import { errnoText, openImageFile, readImageAt } from './open-image.js';

/** How many bytes the next read asks for; tests feed byte-at-a-time or random chunks. */
export type ChunkSizer = () => number;

export const DEFAULT_CHUNK = 1024 * 1024;

/** A part of the file read as if it were the whole file (a UKI's .initrd section). */
export interface FileRange {
  offset: number;
  length: number;
}

export class ByteSource implements SeekableFile {
  /** File offset of the next byte read() returns (from the range's start, with a range). */
  offset = 0;
  private filePos: number;
  private readonly end: number;
  private readonly pending: Buffer[] = [];

  private constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    readonly size: number,
    private readonly sizer: ChunkSizer,
    private readonly start: number,
    /** The source ends where the file ends (no range, or a range up to the end). */
    private readonly atFileEnd: boolean,
  ) {
    this.filePos = start;
    this.end = start + size;
  }

  static async open(path: string, sizer: ChunkSizer = () => DEFAULT_CHUNK, range?: FileRange): Promise<ByteSource> {
    const { handle, size } = await openImageFile(path);
    if (range && range.offset + range.length > size) {
      await handle.close();
      throw new RambootError('input', `${path}: bytes ${range.offset}..${range.offset + range.length} are past its end (${size} bytes): truncated`, 'copy or download the file again');
    }
    const atFileEnd = !range || range.offset + range.length === size;
    return new ByteSource(handle, path, range ? range.length : size, sizer, range ? range.offset : 0, atFileEnd);
  }

  /** The next chunk, or null at the end of the file. */
  async read(): Promise<Buffer | null> {
    const back = this.pending.shift();
    if (back) {
      this.offset += back.length;
      return back;
    }
    if (this.filePos >= this.end) return null;
    const want = Math.min(Math.max(1, Math.floor(this.sizer())), this.end - this.filePos);
    const buf = Buffer.allocUnsafe(want);
    const bytesRead = await readImageAt(this.handle, this.path, buf, want, this.filePos);
    if (bytesRead === 0) return null;
    this.filePos += bytesRead;
    this.offset += bytesRead;
    return bytesRead === want ? buf : buf.subarray(0, bytesRead);
  }

  /** Only when the file ends where this source ends: a decompressor given the file reads to its end. */
  get seekable(): SeekableFile | undefined {
    return this.atFileEnd ? this : undefined;
  }

  /** Synchronous pread(2): a walk over a stream's headers makes hundreds of tiny reads. */
  readAt(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.size - position)));
    let have = 0;
    try {
      while (have < buf.length) {
        const n = readSync(this.handle.fd, buf, have, buf.length - have, this.start + position + have);
        if (n === 0) break;
        have += n;
      }
    } catch (err) {
      throw new RambootError('input', `cannot read ${this.path} at byte ${this.start + position + have}: ${errnoText(err)}`, 'give the path of an initrd or squashfs image file', { cause: err });
    }
    return buf.subarray(0, have);
  }

  seek(offset: number): void {
    this.pending.length = 0;
    this.offset = offset;
    this.filePos = this.start + offset;
  }

  /**
   * Through /proc/self/fd, the file this source opened (and checked to be a regular file), not
   * whatever its path names now. Node has no lseek(2): the new descriptor is moved by reading.
   */
  reopenAt(offset: number): number {
    let fd: number | undefined;
    try {
      fd = openSync(`/proc/self/fd/${this.handle.fd}`, constants.O_RDONLY | constants.O_NOCTTY);
      const scratch = Buffer.allocUnsafe(Math.min(this.start + offset, DEFAULT_CHUNK));
      for (let left = this.start + offset; left > 0; ) {
        const n = readSync(fd, scratch, 0, Math.min(left, scratch.length), null);
        if (n === 0) throw new Error(`the file ends before byte ${offset}`);
        left -= n;
      }
      return fd;
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw new RambootError('input', `cannot read ${this.path} again at byte ${offset}: ${errnoText(err)}`, 'give the path of an initrd or squashfs image file', { cause: err });
    }
  }

  /** Give bytes back: the next read() returns them first. */
  unread(buf: Buffer | undefined): void {
    if (!buf || buf.length === 0) return;
    this.pending.unshift(buf);
    this.offset -= buf.length;
  }

  /** Up to `n` bytes from the current offset, without consuming them. */
  async peek(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const chunk = await this.read();
      if (!chunk) break;
      parts.push(chunk);
      have += chunk.length;
    }
    for (let i = parts.length - 1; i >= 0; i--) this.unread(parts[i]);
    return Buffer.concat(parts, have).subarray(0, n);
  }

  /** Skips NUL bytes (the kernel allows them between segments); false at the end of the file. */
  async skipZeros(): Promise<boolean> {
    for (;;) {
      const chunk = await this.read();
      if (!chunk) return false;
      let i = 0;
      while (i < chunk.length && chunk[i] === 0) i++;
      if (i < chunk.length) {
        this.unread(chunk.subarray(i));
        return true;
      }
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
