// A file that takes a stream of bytes and, when the disk fills, keeps counting instead of
// failing at once: the stream runs to its end, and the error says how big the output would have
// been ("needed at least 2.7 MiB"), not just where it stopped. A compressor feeding it is never
// cut off mid-write, so it cannot die of SIGPIPE and hide the real cause. Other write errors
// fail the stream at once.
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export class FileSink extends Writable {
  /** Bytes the stream delivered, written or not. */
  total = 0;
  #handle: FileHandle | undefined;
  #noSpace: NodeJS.ErrnoException | undefined;

  constructor(readonly path: string) {
    super();
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'w', 0o644).then((handle) => {
      this.#handle = handle;
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.total += chunk.length;
    if (this.#noSpace) return callback();
    this.#writeAll(chunk).then(() => callback(), (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOSPC' && error.code !== 'EDQUOT') return callback(error);
      this.#noSpace = error;
      callback();
    });
  }

  async #writeAll(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      const { bytesWritten } = await this.#handle!.write(chunk, offset);
      offset += bytesWritten;
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    const handle = this.#handle!;
    this.#handle = undefined;
    handle.close().then(() => {
      if (!this.#noSpace) return callback();
      callback(Object.assign(this.#noSpace, { neededBytes: this.total }));
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.#handle;
    this.#handle = undefined;
    if (!handle) return callback(error);
    handle.close().then(() => callback(error), () => callback(error));
  }
}
