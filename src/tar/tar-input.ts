// A tarball as a stream of tar bytes: which compression it has (by magic, never by name), the
// decompressor it goes through (decompressStream: zlib for gzip, the system tool for zstd/xz/bzip2), and what
// tar-stream's plain Errors mean. Nothing here is held whole in memory.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type tarStream from 'tar-stream';
import { decompressStream, type ChunkSource } from '../compress/decompress-stream.js';
import { detectFormat } from '../compress/magic.js';
import { ByteSource } from '../extract/byte-source.js';
import { ExtractError, Warnings } from '../unpack/problems.js';

export type TarCompression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

/** The tarball's compression by magic, or undefined when it is no tarball we read. */
export async function sniffTarball(path: string): Promise<TarCompression | undefined> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(512);
  try {
    await handle.read(head, 0, 512, 0);
  } finally {
    await handle.close();
  }
  const format = detectFormat(head);
  if (format === 'gzip' || format === 'zstd' || format === 'xz' || format === 'bzip2') return format;
  // ustar / GNU magic at offset 257 ("ustar\0" or "ustar  ").
  return head.toString('latin1', 257, 262) === 'ustar' ? 'none' : undefined;
}

/** file -> decompressor -> onChunk, with backpressure; rejects on read or decompression errors.
 * `counts.fileRead` follows the compressed bytes read, for a progress meter. */
export async function feedTarball(path: string, compression: TarCompression, counts: { fileRead?: number | undefined }, onChunk: (chunk: Buffer) => Promise<void>): Promise<void> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      counts.fileRead = (counts.fileRead ?? 0) + chunk.length;
      done(null, chunk);
    },
  });
  const sink = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) await onChunk(chunk);
  };
  if (compression === 'none') {
    await pipeline(file, counter, new PassThrough(), sink);
    return;
  }
  file.destroy();
  // Compressed: the one decompressStream() (src/compress/), as for initrd segments. A tarball
  // may hold several streams one after the other (concatenated gzip members, pzstd frames),
  // which the tools read as one: so does this loop; NULs after the last one are padding.
  const source = await ByteSource.open(path);
  const counted: ChunkSource = {
    read: async () => {
      const chunk = await source.read();
      counts.fileRead = source.offset;
      return chunk;
    },
    unread: (buf) => source.unread(buf),
    peek: (n) => source.peek(n),
  };
  try {
    for (;;) {
      await decompressStream({ source: counted, format: compression, label: basename(path), onOutput: onChunk, warnings: new Warnings() });
      if (!(await source.skipZeros())) return;
      const head = await source.peek(8);
      if (detectFormat(head) !== compression) {
        throw new ExtractError('E-CORRUPT', `${basename(path)}: ${source.size - source.offset} bytes at byte ${source.offset} after the ${compression} data are not ${compression} (they begin ${head.toString('hex')})`, 'the tarball is corrupt');
      }
    }
  } finally {
    await source.close();
  }
}

/** Resolves once tar-stream wants more input, or has stopped (then 'drain' never comes). */
export function drainOrClose(stream: tarStream.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    if (stream.destroyed) done();
  });
}

/** One of tar-stream's plain Errors as a coded one-liner, or undefined when it is none of its
 * parse errors. `endSeen`: the bytes read so far held an end-of-archive block. */
export function readTarStreamError(message: string, label: string, lastEntry: string, endSeen: boolean): ExtractError | undefined {
  const after = lastEntry ? ` (after entry '${lastEntry}')` : ' (before the first entry)';
  // When the parser stops under an entry, the entry's own stream reports only a teardown, which
  // can arrive before the parser's "Unexpected end of data": without an end-of-archive block in
  // the bytes read, that is the same truncation.
  if (/Unexpected end of data/.test(message) || (!endSeen && /Stream was destroyed|Premature close/.test(message))) {
    return new ExtractError('E-TRUNCATED', `${label}: the tar archive ends in the middle of an entry${after}`, 'the tarball was cut short (an interrupted download or write?)');
  }
  if (/Invalid tar header|Header exceeds/.test(message)) {
    return new ExtractError('E-CORRUPT', `${label}: ${lastEntry ? 'corrupt tar header' : 'not a tar archive (no valid header)'}${after}`, 'a corrupt tarball, or not a tarball');
  }
  return undefined;
}
