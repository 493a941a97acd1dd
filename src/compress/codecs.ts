// Compressors for initrd segments. Node itself only does gzip; zstd, xz and lz4 run as the
// system binaries (zstd-codec, the requested library, runs out of its fixed 16 MiB wasm heap
// above ~5 MB — see README "Libraries"). Each codec is set up for what the kernel's initramfs
// unpacker accepts (measured, docs/facts.md "Kernel initramfs unpacker"):
//  - zstd: window <= 128 MiB, so no --long; one cpio in one frame;
//  - xz: only --check=crc32 (the kernel's decoder rejects the default CRC64);
//  - lz4: only the legacy format (-l); the frame format is rejected;
//  - gzip: any level.
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Writable } from 'node:stream';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { usageError } from '../errors.js';
import { FileSink } from '../util/file-sink.js';
import { toolFailure } from '../util/run-tool.js';

export const COMPRESSIONS = ['zstd', 'gzip', 'xz', 'lz4', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** Default level per codec. zstd 4, measured on the cloud-kernel netboot initrd (6.28 MB of
 * cpio, `zstd -T0 -B2M`, median CPU seconds of 8 runs on a loaded 2-core machine, issue 16):
 * level 3 2.24 MB 0.04 s, 4 2.22 MB 0.06 s, 5 2.15 MB 0.11 s, 6 2.09 MB 0.19 s, 7 2.08 MB
 * 0.22 s. The size limit of issue 16 is a quarter of mkinitramfs MODULES=dep, 2.24 MB (2,243,170
 * bytes): level 4 is 0.8% under it, level 5 4%. The build limit, 0.3 s, is a median over noisy
 * rounds: level 5's wall time (7 runs, 6.30 MB of cpio) was 77-91 ms, level 4's 50-63 ms, and a
 * full bench run had the level-5 build at 0.30 s (0.25-0.32), on the line. Size is the same bytes
 * every build, so level 4 keeps that target with certainty and gains ~30 ms on the other; 6 costs
 * 70% more CPU than 5 for 3% of size. */
export const DEFAULT_LEVEL: Record<Compression, number> = { zstd: 4, gzip: 9, xz: 6, lz4: 9, none: 0 };
const LEVEL_RANGE: Record<Compression, [number, number]> = {
  zstd: [1, 19],
  gzip: [1, 9],
  xz: [0, 9],
  lz4: [1, 12],
  none: [0, 0],
};

export function parseCompression(name: string): Compression {
  if ((COMPRESSIONS as readonly string[]).includes(name)) return name as Compression;
  throw usageError(`unknown compression "${name}"`, `use one of ${COMPRESSIONS.join(', ')}`);
}

export function checkLevel(kind: Compression, level: number): number {
  const [min, max] = LEVEL_RANGE[kind];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw usageError(`compression level ${level} is out of range for ${kind}`, `use ${min}..${max}`);
  }
  return level;
}

/** The compressor's command line (exported for the reproducibility test). */
export function toolArgs(kind: 'zstd' | 'xz' | 'lz4', level: number): string[] {
  switch (kind) {
    // zstd's multithreaded mode gives the same bytes for any thread count (-T1, -T2, -T0: tested
    // in test/compress), though not those of --single-thread. -B2M cuts the input into 2 MiB jobs
    // so a few-MB initrd keeps two cores busy (without it, one job up to 8 MiB at level 6); it
    // costs 0.5% in size, and the output is still one frame, as the kernel requires.
    case 'zstd':
      return ['-q', '-c', `-${level}`, '-T0', '-B2M', ...(level > 19 ? ['--ultra'] : [])];
    // -T1: xz's multithreaded mode splits into blocks, which changes the bytes.
    case 'xz':
      return ['-q', '-c', `-${level}`, '--check=crc32', '-T1'];
    case 'lz4':
      return ['-q', '-c', '-l', `-${level}`];
  }
}

export interface CompressSink {
  /** Write the uncompressed bytes here and end() it. */
  input: Writable;
  /** Resolves when the compressed file is complete on disk. */
  done: Promise<void>;
}

/** A writable whose bytes end up compressed in `outPath`. The compressor's output passes through
 * a FileSink rather than going to the file directly: on a full disk the tools died of SIGPIPE or
 * exited "with 0" and hid the cause, while the sink reports ENOSPC with the size it needed. */
export function compressToFile(kind: Compression, level: number, outPath: string): CompressSink {
  const file = new FileSink(outPath);
  if (kind === 'none' || kind === 'gzip') {
    const input = kind === 'gzip' ? createGzip({ level, memLevel: zlibConstants.Z_DEFAULT_MEMLEVEL }) : new PassThrough();
    return { input, done: pipeline(input, file) };
  }
  const args = toolArgs(kind, level);
  // node's own spawn, not execa: this runs in every initrd build, where execa's per-call setup
  // was 5-8 ms of CPU against 3 for a plain spawn (issue 16's quarter second).
  const child = spawn(kind, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < STDERR_KEPT) stderr += text;
  });
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject); // not found, or not executable
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  child.stdin.on('error', () => {
    // A dying compressor closes its stdin; the failure is reported through `done`.
  });
  const written = pipeline(child.stdout, file).catch((error: unknown) => {
    child.kill();
    throw error;
  });
  const done = Promise.all([
    written,
    exited.catch((error: unknown) => {
      throw toolFailure(kind, args, error);
    }),
  ]).then(([, { exitCode, signal }]) => {
    if (exitCode !== 0) throw toolFailure(kind, args, { exitCode: exitCode ?? undefined, signal: signal ?? undefined, stderr });
  });
  return { input: child.stdin, done };
}

/** The compressor's stderr kept for an error message (its tail is what gets shown). */
const STDERR_KEPT = 64 * 1024;
