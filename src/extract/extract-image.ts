// `ramboot extract IMAGE DIR`: an initrd of any number of segments, or a squashfs image, into
// an empty directory, with the safety rules of tree-writer.ts (initrds) and squashfs.ts.
import { mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { RambootError } from '../errors.js';
import type { ChunkSizer } from './byte-source.js';
import { detectImageKind, type ImageKind } from './image-kind.js';
import { ExtractError, Warnings, type ExtractWarning } from './problems.js';
import { readInitrd, type SegmentInfo } from './read-initrd.js';
import { extractSquashfs } from './squashfs.js';
import { TreeWriter } from './tree-writer.js';

export interface ExtractOptions {
  image: string;
  dir: string;
  /** Create device nodes (only takes effect as root). */
  devices?: boolean;
  /** Keep setuid/setgid bits (only takes effect as root). */
  keepSetuid?: boolean;
  /** Warnings become errors. */
  strict?: boolean;
  /** Cap on decompressed cpio bytes; default 4 GiB. */
  maxSize?: number;
  onWarning?: (warning: ExtractWarning) => void;
  /** Default: whether this process runs as root. Tests set it to check both behaviours. */
  asRoot?: boolean;
  chunkSize?: ChunkSizer;
}

export interface ExtractResult {
  kind: ImageKind;
  dir: string;
  /** Initrds only. */
  segments: SegmentInfo[];
  entries: number;
  warnings: ExtractWarning[];
}

export async function extractImage(options: ExtractOptions): Promise<ExtractResult> {
  const kind = await detectImageKind(options.image);
  const dir = await prepareTarget(options.dir);
  const warnings = new Warnings(options.strict, options.onWarning);
  const asRoot = options.asRoot ?? process.getuid?.() === 0;
  const devices = options.devices ?? false;
  const keepSetuid = options.keepSetuid ?? false;
  if (kind === 'squashfs') {
    const entries = await extractSquashfs({ image: options.image, dir, warnings, asRoot, devices, keepSetuid });
    return { kind, dir, segments: [], entries, warnings: warnings.list };
  }
  const writer = new TreeWriter({ dir, warnings, asRoot, devices, keepSetuid });
  try {
    const { segments } = await readInitrd(
      options.image,
      {
        entry: (header, segment) => writer.entry(header, segment),
        data: (chunk) => writer.data(chunk),
        entryEnd: (header) => writer.entryEnd(header),
        archiveEnd: () => writer.archiveEnd(),
      },
      { warnings, maxSize: options.maxSize, chunkSize: options.chunkSize },
    );
    await writer.finish();
    return { kind, dir, segments, entries: segments.reduce((n, s) => n + s.entries, 0), warnings: warnings.list };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/**
 * The target must be new or empty: then everything under it is what this extraction made, and
 * a symlink planted there beforehand cannot redirect a write.
 */
async function prepareTarget(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    const real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new RambootError('io', `${dir} is not a directory`);
    const present = await readdir(real);
    if (present.length > 0) {
      throw new ExtractError('E-TARGET-NOT-EMPTY', `${dir} is not empty (${present.length} entries)`, 'extract into a new or empty directory', { code: 'usage' });
    }
    return real;
  } catch (err) {
    if (err instanceof RambootError) throw err;
    throw new RambootError('io', `cannot use ${dir} as the target: ${(err as Error).message}`, undefined, { cause: err });
  }
}
