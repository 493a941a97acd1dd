// Running a system decompressor (zstd, xz, lz4, bzip2) over one stream of an image file.
//
// Fast path, when the stream runs to the end of the file (the last segment of an initrd, the
// usual case): the tool reads the file itself (a descriptor of its own, positioned at the
// stream) and writes into a FIFO that this process reads with plain blocking read(2)s. No
// byte of input passes through this process and the output costs one system call per pipe
// buffer, no stream machinery: measured on the 14 MB live-boot initrd (53 MB of cpio), Node's
// side of `zstd -dc` fell from ~175 ms of CPU (compressed bytes written into the tool's stdin
// from an async generator, output through a Readable's async iterator) to ~20-50 ms; zstd's own
// ~130 ms run on the other core meanwhile (README "Benchmarks", extraction).
//
// Otherwise (another segment follows, or the source is not a file), the stream's exact bytes,
// found by walking its container (frame-walk.ts, bzip2-end.ts), are written to the tool's
// stdin and its stdout is read as a stream.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RambootError } from '../errors.js';
import { ExtractError } from '../unpack/problems.js';
import { toolFailure } from '../util/run-tool.js';
import { FrameDriver, measureStream, type PushResult, type Walker } from './frame-walk.js';
import type { ChunkSource, DecompressJob, SeekableFile } from './decompress-stream.js';

/** Cuts a stream's bytes out of the input: FrameDriver (length fields) or Bzip2EndFinder (markers). */
interface StreamFramer {
  push(chunk: Buffer): PushResult;
  end(): PushResult;
}

/** How a stream's end is found: a walker over length fields, a scanner for an end marker
 * (bzip2), or neither (lzma: as in the kernel, the stream takes the rest of the input). */
export interface Framing {
  walker?: () => Walker;
  truncated?: (consumed: number) => ExtractError;
  finder?: () => StreamFramer;
}

function framerOf(framing: Framing): StreamFramer | undefined {
  if (framing.walker) return new FrameDriver(framing.walker(), framing.truncated!);
  return framing.finder?.();
}

/** Output handed on per onOutput call: FIFO reads (64 KiB each) are gathered up to this. */
const OUT_CHUNK = 256 * 1024;

export async function decodeWithTool(job: DecompressJob, tool: string, args: string[], framing: Framing): Promise<void> {
  const file = job.source.seekable;
  if (!file) return decodeThroughStdin(job, tool, args, framerOf(framing));
  const start = file.offset;
  let fifo: Fifo | undefined;
  try {
    // Walking first: a framing error (a cut-short stream) is reported before any output, and
    // the source ends up just after the stream, where the next segment begins.
    if (framing.walker) file.seek(start + measureStream(framing.walker(), (at, n) => file.readAt(at, n), start, file.size, framing.truncated!));
    else if (framing.finder) await walkStream(job.source, framing.finder());
    else file.seek(file.size);
    const end = file.offset;
    fifo = end === file.size ? makeFifo() : undefined;
    const input = fifo ? reopen(file, start) : undefined;
    if (!fifo || input === undefined) {
      file.seek(start);
      return await decodeThroughStdin(job, tool, args, framerOf(framing));
    }
    await decodeFromFile(job, tool, args, input, fifo);
    file.seek(end);
  } finally {
    if (fifo) rmSync(fifo.dir, { recursive: true, force: true });
  }
}

/** The file reopened for the tool, or undefined where that cannot be done (no /proc mounted,
 * as in some containers): then stdin is fed instead. */
function reopen(file: SeekableFile, at: number): number | undefined {
  try {
    return file.reopenAt(at);
  } catch {
    return undefined;
  }
}

async function walkStream(source: ChunkSource, framer: StreamFramer): Promise<void> {
  for (;;) {
    const chunk = await source.read();
    if (!chunk) {
      framer.end();
      return;
    }
    const { rest } = framer.push(chunk);
    if (rest) {
      source.unread(rest);
      return;
    }
  }
}

interface Fifo {
  dir: string;
  path: string;
}

/**
 * A FIFO in a private directory, or undefined when one cannot be made (then stdin is fed).
 * Synchronously: waiting for the child's exit event took 5-25 ms of wall time more (strace,
 * loaded machine) than the ~3 ms mkfifo(1) takes.
 */
function makeFifo(): Fifo | undefined {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'ramboot-fifo-'));
  } catch {
    return undefined;
  }
  const path = join(dir, 'out');
  const made = spawnSync('mkfifo', ['-m', '600', '--', path], { stdio: 'ignore' });
  if (made.status === 0) return { dir, path };
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** spawn(2) failed: ENOENT when the tool is not installed. */
  error?: Error;
}

function watch(child: ChildProcess): { exited: Promise<Exit>; stderr: () => string } {
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  return { exited, stderr: () => stderr };
}

async function decodeFromFile(job: DecompressJob, tool: string, args: string[], input: number, fifo: Fifo): Promise<void> {
  // O_RDWR does not wait for a reader, and with a writer open the read end opens at once.
  // Our write end is closed after the spawn, so the tool's exit is the FIFO's end of file.
  let writeEnd: number | undefined;
  let readEnd: number | undefined;
  let child: ChildProcess;
  try {
    writeEnd = openSync(fifo.path, constants.O_RDWR);
    readEnd = openSync(fifo.path, constants.O_RDONLY);
    rmSync(fifo.dir, { recursive: true, force: true });
    child = spawn(tool, args, { stdio: [input, writeEnd, 'pipe'] });
  } catch (err) {
    if (readEnd !== undefined) closeSync(readEnd);
    throw err;
  } finally {
    closeSync(input);
    if (writeEnd !== undefined) closeSync(writeEnd);
  }
  const { exited, stderr } = watch(child);
  let consumerError: unknown;
  try {
    const reader = new FifoReader(readEnd, job.transientOutput === true);
    for (let chunk = reader.read(); chunk; chunk = reader.read()) await job.onOutput(chunk);
  } catch (err) {
    consumerError = err;
    child.kill();
  } finally {
    closeSync(readEnd);
  }
  await finishTool(job, tool, args, await exited, stderr(), consumerError);
}

/** Blocking reads of a FIFO, gathered into chunks: fresh ones, or one buffer reused when the
 * consumer does not keep them. */
class FifoReader {
  private ended = false;
  private readonly reused: Buffer | undefined;

  constructor(
    private readonly fd: number,
    reuse: boolean,
  ) {
    this.reused = reuse ? Buffer.allocUnsafe(OUT_CHUNK) : undefined;
  }

  read(): Buffer | undefined {
    if (this.ended) return undefined;
    const buf = this.reused ?? Buffer.allocUnsafe(OUT_CHUNK);
    let have = 0;
    while (have < buf.length) {
      let n: number;
      try {
        n = readSync(this.fd, buf, have, buf.length - have, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EINTR' || (err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw err;
      }
      if (n === 0) {
        this.ended = true;
        break;
      }
      have += n;
    }
    if (have === 0) return undefined;
    return have === buf.length ? buf : buf.subarray(0, have);
  }
}

/** The tool's exit, stderr and what the consumer threw, as one outcome. */
async function finishTool(job: DecompressJob, tool: string, args: string[], r: Exit, stderr: string, consumerError: unknown, fed?: { err: unknown }): Promise<void> {
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

async function* streamBytes(source: ChunkSource, framer: StreamFramer | undefined): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = await source.read();
    if (!chunk) {
      if (framer) yield* framer.end().out;
      return;
    }
    if (!framer) {
      yield chunk;
      continue;
    }
    const { out, rest } = framer.push(chunk);
    // One write per chunk, not one per frame piece (zstd: a 3-byte block header, then its data).
    if (out.length > 0) yield out.length === 1 ? out[0]! : Buffer.concat(out);
    if (rest) {
      source.unread(rest);
      return;
    }
  }
}

/** node:child_process directly, not execa: execa's per-call option and stream set-up
 * (normalizeTransforms) took 88 ms of the main thread in a CPU profile of `ls` on the 14 MB
 * live-boot initrd (a loaded machine; still the largest item after start-up). */
async function decodeThroughStdin(job: DecompressJob, tool: string, args: string[], framer?: StreamFramer): Promise<void> {
  const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const { exited, stderr } = watch(child);
  child.stdin!.on('error', () => {
    // The decoder closed its input (it failed, or we killed it); reported below.
  });
  // One chunk read ahead: Readable.from's default of 16 would hold 16 MiB of input.
  const feeding = pipeline(Readable.from(streamBytes(job.source, framer), { highWaterMark: 1 }), child.stdin as Writable);
  feeding.catch(() => {
    // Settled and reported below, after the output is drained.
  });
  let consumerError: unknown;
  try {
    for await (const chunk of child.stdout!) await job.onOutput(chunk as Buffer);
  } catch (err) {
    consumerError = err;
    child.kill();
  }
  const [fed, r] = await Promise.all([feeding.then(() => undefined, (err: unknown) => ({ err })), exited]);
  await finishTool(job, tool, args, r, stderr(), consumerError, fed);
}
