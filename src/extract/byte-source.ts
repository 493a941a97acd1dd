// Sequential reads of an image file with push-back. A segment's decoder takes chunks, and what
// it does not consume (the bytes after a compressed stream's end, after a cpio trailer) goes
// back here for the next segment. Memory is one chunk plus what was pushed back.
import type { FileHandle } from 'node:fs/promises';
import { openImageFile, readImageAt } from './open-image.js';

/** How many bytes the next read asks for; tests feed byte-at-a-time or random chunks. */
export type ChunkSizer = () => number;

export const DEFAULT_CHUNK = 1024 * 1024;

export class ByteSource {
  /** File offset of the next byte read() returns. */
  offset = 0;
  private filePos = 0;
  private readonly pending: Buffer[] = [];

  private constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    readonly size: number,
    private readonly sizer: ChunkSizer,
  ) {}

  static async open(path: string, sizer: ChunkSizer = () => DEFAULT_CHUNK): Promise<ByteSource> {
    const { handle, size } = await openImageFile(path);
    return new ByteSource(handle, path, size, sizer);
  }

  /** The next chunk, or null at the end of the file. */
  async read(): Promise<Buffer | null> {
    const back = this.pending.shift();
    if (back) {
      this.offset += back.length;
      return back;
    }
    const want = Math.max(1, Math.floor(this.sizer()));
    const buf = Buffer.allocUnsafe(want);
    const bytesRead = await readImageAt(this.handle, this.path, buf, want, this.filePos);
    if (bytesRead === 0) return null;
    this.filePos += bytesRead;
    this.offset += bytesRead;
    return bytesRead === want ? buf : buf.subarray(0, bytesRead);
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
