// decompressStream(): the one way ramboot decompresses a stream it reads (initrd segments,
// and anything else that comes as a compressed stream). Bytes come from a ChunkSource,
// decompressed chunks go to `onOutput` one at a time (awaited, so a slow consumer slows the
// decompressor instead of filling memory), and the source is left just after the stream, so
// whatever follows (the next initrd segment) can be read from there.
//  - gzip: node:zlib's raw inflate after our own header parse; zlib reports how much input it
//    used, which is where the deflate data ends; then the CRC32/ISIZE trailer is checked.
//  - zstd, xz, lz4-legacy: the system tools (zstd -dc, xz -dc, lz4 -dc) given exactly the
//    stream's bytes, found by walking the container (frame-walk.ts); see tool-decode.ts.
//  - bzip2: no length fields; its end marker is found by bzip2-end.ts, as the kernel finds it.
//  - lzma: no length fields and no reliable end marker; as in the kernel it takes the rest.
import type { Writable } from 'node:stream';
import { createInflateRaw, crc32 } from 'node:zlib';
import { RambootError } from '../errors.js';
import { ExtractError, type Warnings } from '../unpack/problems.js';
import { Bzip2EndFinder } from './bzip2-end.js';
import { FrameDriver, walkLz4Legacy, walkXzStream, walkZstdFrame, type Walker } from './frame-walk.js';
import type { SegmentFormat } from './magic.js';
import { decodeWithTool } from './tool-decode.js';

/** Sequential reads with push-back (extract/byte-source.ts is the one over an image file). */
export interface ChunkSource {
  /** The next chunk, or null at the end. */
  read(): Promise<Buffer | null>;
  /** Gives bytes back: the next read() returns them first. */
  unread(buf: Buffer | undefined): void;
  /** Up to n bytes without consuming them. */
  peek(n: number): Promise<Buffer>;
  /** Set when the bytes are a regular file's, read in order: a system decompressor then reads
   * the file itself (tool-decode.ts). */
  readonly seekable?: SeekableFile;
}

export interface SeekableFile {
  /** File offset of the next byte read() returns. */
  readonly offset: number;
  readonly size: number;
  /** `length` bytes at `position` (fewer at the end), without moving the next read(). */
  readAt(position: number, length: number): Buffer;
  /** Moves the next read() to `offset`, dropping what was given back. */
  seek(offset: number): void;
  /** A new descriptor of the same file, its own position at `offset`; the caller closes it. */
  reopenAt(offset: number): number;
}

export type CompressedFormat = 'gzip' | 'zstd' | 'xz' | 'lz4-legacy' | 'bzip2' | 'lzma';

export interface DecompressJob {
  source: ChunkSource;
  format: CompressedFormat;
  /** "segment 1 (zstd at byte 512)", the prefix of every message. */
  label: string;
  onOutput(chunk: Buffer): Promise<void>;
  /** The consumer is done with each chunk when its onOutput settles, so the decoder may reuse
   * the buffer: fewer fresh 256 KiB buffers waiting for a GC keeps peak memory down. */
  transientOutput?: boolean;
  warnings: Warnings;
}

export function isCompressed(format: SegmentFormat): format is CompressedFormat {
  return ['gzip', 'zstd', 'xz', 'lz4-legacy', 'bzip2', 'lzma'].includes(format);
}

/** Input per inflate write. Output stays bounded whatever the ratio: node:zlib stops
 * inflating while its readable side is full and resumes when it is read. */
const GZIP_PIECE = 256 * 1024;
/** Output chunk size: fewer chunks through the stream machinery than the default 16 KiB, and
 * under glibc's 128 KiB mmap threshold (256 KiB chunks were each an mmap + munmap: more system
 * time, measured on the dracut initrd). */
const GZIP_OUT_CHUNK = 64 * 1024;
/** xz may ask for a dictionary of up to 4 GiB; real initrds use 8-64 MiB. */
const XZ_MEMLIMIT = '--memlimit-decompress=1GiB';

export async function decompressStream(job: DecompressJob): Promise<void> {
  const truncated = (what: string) => () => new ExtractError('E-TRUNCATED', `${job.label}: the ${what} ends early`, 'the image was cut short');
  const corrupt = (message: string) => new ExtractError('E-CORRUPT', `${job.label}: ${message}`);
  switch (job.format) {
    case 'gzip':
      return decodeGzip(job, corrupt);
    case 'zstd':
      return decodeWithTool(job, 'zstd', ['-d', '-c', '-q'], { walker: () => walkZstdFrame(corrupt), truncated: truncated('zstd frame') });
    case 'xz':
      return decodeWithTool(job, 'xz', ['-d', '-c', '-q', XZ_MEMLIMIT], { walker: () => walkXzStream(corrupt), truncated: truncated('xz stream') });
    case 'lz4-legacy':
      return decodeWithTool(job, 'lz4', ['-d', '-c', '-q'], { walker: () => walkLz4Legacy(corrupt), truncated: truncated('lz4 stream') });
    case 'bzip2':
      return decodeWithTool(job, 'bzip2', ['-d', '-c', '-q'], { finder: () => new Bzip2EndFinder() });
    case 'lzma':
      return decodeWithTool(job, 'xz', ['--format=lzma', '-d', '-c', '-q', XZ_MEMLIMIT], {});
  }
}

/** RFC 1952 member header: fixed 10 bytes, then optional extra field, name, comment, CRC16. */
function* walkGzipHeader(fail: (m: string) => ExtractError): Walker {
  const h = (yield { read: 10 })!;
  if (h[0] !== 0x1f || h[1] !== 0x8b) throw fail('not a gzip member');
  if (h[2] !== 8) throw fail(`gzip compression method ${h[2]} is not deflate (8)`);
  const flags = h[3]!;
  if (flags & 0xe0) throw fail('the gzip header has reserved flag bits set');
  if (flags & 0x04) yield { skip: (yield { read: 2 })!.readUInt16LE(0) };
  for (const bit of [0x08, 0x10]) {
    if (!(flags & bit)) continue;
    // A file name or comment, NUL-terminated; bounded so garbage cannot keep us reading.
    for (let n = 0; ; n++) {
      if (n > 65536) throw fail('a gzip header name or comment is over 64 KiB');
      if ((yield { read: 1 })![0] === 0) break;
    }
  }
  if (flags & 0x02) yield { skip: 2 };
}

async function decodeGzip(job: DecompressJob, corrupt: (m: string) => ExtractError): Promise<void> {
  const { source, label } = job;
  const header = new FrameDriver(walkGzipHeader(corrupt), () => new ExtractError('E-TRUNCATED', `${label}: the gzip header ends early`));
  while (!header.done) {
    const chunk = await source.read();
    const { rest } = chunk ? header.push(chunk) : header.end();
    source.unread(rest);
  }

  const inflate = createInflateRaw({ chunkSize: GZIP_OUT_CHUNK });
  let crc = 0;
  let isize = 0;
  const feeding = (async () => {
    for (;;) {
      const chunk = await source.read();
      if (!chunk) break;
      for (let i = 0; i < chunk.length; i += GZIP_PIECE) {
        const piece = chunk.subarray(i, i + GZIP_PIECE);
        const before = inflate.bytesWritten;
        await writeAsync(inflate, piece);
        // zlib stops taking input at the end of the deflate data: the rest is not ours.
        const used = inflate.bytesWritten - before;
        if (used < piece.length) {
          source.unread(chunk.subarray(i + used));
          inflate.end();
          return;
        }
      }
    }
    inflate.end();
  })();
  feeding.catch(() => {
    // Reported through the consumer loop below (the inflate stream errors or closes).
  });
  let consumerError: unknown;
  try {
    for await (const chunk of inflate) {
      const out = chunk as Buffer;
      crc = crc32(out, crc);
      isize = (isize + out.length) % 0x1_0000_0000;
      await job.onOutput(out);
    }
  } catch (err) {
    consumerError = err;
    inflate.destroy();
  }
  await feeding.catch(() => undefined);
  if (consumerError !== undefined) {
    if (consumerError instanceof RambootError) throw consumerError;
    const message = (consumerError as Error).message;
    if (/unexpected end/i.test(message)) throw new ExtractError('E-TRUNCATED', `${label}: the deflate data ends early`, 'the image was cut short');
    throw corrupt(`bad deflate data: ${message}`);
  }

  const trailer = await source.peek(8);
  if (trailer.length < 8) throw new ExtractError('E-TRUNCATED', `${label}: the gzip trailer (CRC32 and size) is missing`, 'the image was cut short');
  await consume(source, 8);
  if (trailer.readUInt32LE(0) !== crc) throw corrupt(`gzip CRC32 mismatch: trailer says ${hex(trailer.readUInt32LE(0))}, data has ${hex(crc)}`);
  if (trailer.readUInt32LE(4) !== isize) throw corrupt(`gzip size mismatch: trailer says ${trailer.readUInt32LE(4)}, data is ${isize} (mod 2^32)`);
}

async function consume(source: ChunkSource, n: number): Promise<void> {
  while (n > 0) {
    const chunk = (await source.read())!;
    if (chunk.length > n) source.unread(chunk.subarray(n));
    n -= Math.min(n, chunk.length);
  }
}

/** Resolves once the stream has processed `chunk`; rejects if it fails or closes first. */
function writeAsync(stream: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) {
      reject(new Error('stream closed'));
      return;
    }
    const onClose = () => reject(new Error('stream closed'));
    stream.once('close', onClose);
    stream.write(chunk, (err) => {
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
