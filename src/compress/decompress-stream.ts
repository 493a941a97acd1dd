// decompressStream(): the one way ramboot decompresses a stream it reads (initrd segments,
// and anything else that comes as a compressed stream). Bytes come from a ChunkSource,
// decompressed chunks go to `onOutput` one at a time (awaited, so a slow consumer slows the
// decompressor instead of filling memory), and the source is left just after the stream, so
// whatever follows (the next initrd segment) can be read from there.
//  - gzip: node:zlib's raw inflate after our own header parse; zlib reports how much input it
//    used, which is where the deflate data ends; then the CRC32/ISIZE trailer is checked.
//  - zstd, xz, lz4-legacy: the system tools (zstd -dc, xz -dc, lz4 -dc) fed exactly the
//    stream's bytes, found by walking the container (frame-walk.ts).
//  - bzip2: no length fields; its end marker is found by bzip2-end.ts, as the kernel finds it.
//  - lzma: no length fields and no reliable end marker; as in the kernel it takes the rest.
import { spawn } from 'node:child_process';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, crc32 } from 'node:zlib';
import { RambootError } from '../errors.js';
import { ExtractError, type Warnings } from '../unpack/problems.js';
import { toolFailure } from '../util/run-tool.js';
import { Bzip2EndFinder } from './bzip2-end.js';
import { FrameDriver, walkLz4Legacy, walkXzStream, walkZstdFrame, type PushResult, type Walker } from './frame-walk.js';
import type { SegmentFormat } from './magic.js';

/** Sequential reads with push-back (extract/byte-source.ts is the one over an image file). */
export interface ChunkSource {
  /** The next chunk, or null at the end. */
  read(): Promise<Buffer | null>;
  /** Gives bytes back: the next read() returns them first. */
  unread(buf: Buffer | undefined): void;
  /** Up to n bytes without consuming them. */
  peek(n: number): Promise<Buffer>;
}

export type CompressedFormat = 'gzip' | 'zstd' | 'xz' | 'lz4-legacy' | 'bzip2' | 'lzma';

export interface DecompressJob {
  source: ChunkSource;
  format: CompressedFormat;
  /** "segment 1 (zstd at byte 512)", the prefix of every message. */
  label: string;
  onOutput(chunk: Buffer): Promise<void>;
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
      return decodeWithTool(job, 'zstd', ['-d', '-c', '-q'], new FrameDriver(walkZstdFrame(corrupt), truncated('zstd frame')));
    case 'xz':
      return decodeWithTool(job, 'xz', ['-d', '-c', '-q', XZ_MEMLIMIT], new FrameDriver(walkXzStream(corrupt), truncated('xz stream')));
    case 'lz4-legacy':
      return decodeWithTool(job, 'lz4', ['-d', '-c', '-q'], new FrameDriver(walkLz4Legacy(corrupt), truncated('lz4 stream')));
    case 'bzip2':
      return decodeWithTool(job, 'bzip2', ['-d', '-c', '-q'], new Bzip2EndFinder());
    case 'lzma':
      return decodeWithTool(job, 'xz', ['--format=lzma', '-d', '-c', '-q', XZ_MEMLIMIT]);
  }
}

/** The stream's bytes from the source: framed by `driver`, or the rest of the file without one. */
/** Cuts a stream's bytes out of the input: FrameDriver (length fields) or Bzip2EndFinder (markers). */
interface StreamFramer {
  push(chunk: Buffer): PushResult;
  end(): PushResult;
}

async function* streamBytes(source: ChunkSource, driver: StreamFramer | undefined): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = await source.read();
    if (!chunk) {
      if (driver) yield* driver.end().out;
      return;
    }
    if (!driver) {
      yield chunk;
      continue;
    }
    const { out, rest } = driver.push(chunk);
    yield* out;
    if (rest) {
      source.unread(rest);
      return;
    }
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** spawn(2) failed: ENOENT when the tool is not installed. */
  error?: Error;
}

/** node:child_process directly, not execa: execa's per-call option and stream set-up
 * (normalizeTransforms) took 88 ms of the main thread in a CPU profile of `ls` on the 14 MB
 * live-boot initrd (a loaded machine; still the largest item after start-up). */
async function decodeWithTool(job: DecompressJob, tool: string, args: string[], driver?: StreamFramer): Promise<void> {
  const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  child.stdin.on('error', () => {
    // The decoder closed its input (it failed, or we killed it); reported below.
  });
  // One chunk read ahead: Readable.from's default of 16 would hold 16 MiB of input.
  const feeding = pipeline(Readable.from(streamBytes(job.source, driver), { highWaterMark: 1 }), child.stdin as Writable);
  feeding.catch(() => {
    // Settled and reported below, after the output is drained.
  });
  let consumerError: unknown;
  try {
    for await (const chunk of child.stdout) await job.onOutput(chunk as Buffer);
  } catch (err) {
    consumerError = err;
    child.kill();
  }
  const [fed, r] = await Promise.all([feeding.then(() => undefined, (err: unknown) => ({ err })), exited]);
  // A framing error says most (the stream is cut short); then what the consumer found.
  if (fed && fed.err instanceof RambootError) throw fed.err;
  if (consumerError !== undefined) throw consumerError;
  if (r.error) throw toolFailure(tool, args, r.error);
  if (r.code !== 0) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ') || (r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`);
    throw new ExtractError('E-CORRUPT', `${job.label}: ${tool} ${args.join(' ')} failed: ${tail}`);
  }
  if (fed) throw fed.err;
  if (/trailing garbage/i.test(stderr)) {
    job.warnings.warn('W-TRAILING-DATA', `${job.label}: ${tool} ignored data after the end of the compressed stream (${stderr.trim()})`);
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
