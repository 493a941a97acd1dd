// `ramboot extract IMAGE DIR`: an initrd of any number of segments, or a squashfs image, into
// an empty directory, with the safety rules of tree-writer.ts (initrds) and squashfs.ts.
import { constants } from 'node:fs';
import { access, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { NewcHeader } from '../cpio/newc-reader.js';
import { RambootError } from '../errors.js';
import { escapeName } from '../unpack/display-name.js';
import type { UnpackEntry } from '../unpack/entry.js';
import { ExtractError, Warnings, type ExtractWarning } from '../unpack/problems.js';
import { TreeWriter } from '../unpack/tree-writer.js';
import { writeFailure } from '../unpack/write-errors.js';
import type { ChunkSizer } from './byte-source.js';
import { detectImageKind, type ImageKind } from './image-kind.js';
import { readInitrd, segmentLabel, type SegmentInfo } from './read-initrd.js';
import { extractSquashfs } from './squashfs-extract.js';
import { INITRD_DIR, writeUkiSections } from '../uki/extract-uki.js';
import { isPeImage, readUkiLayout } from '../uki/read-uki.js';

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
  kind: ImageKind | 'uki';
  dir: string;
  /** UKIs: the section files written into dir (the initrd's tree is in dir/initrd). */
  ukiFiles?: string[];
  /** Initrds only. */
  segments: SegmentInfo[];
  entries: number;
  warnings: ExtractWarning[];
}

export async function extractImage(options: ExtractOptions): Promise<ExtractResult> {
  const uki = (await isPeImage(options.image)) ? await readUkiLayout(options.image) : undefined;
  const kind = uki ? 'uki' : await detectImageKind(options.image);
  const dir = await prepareTarget(options.dir);
  const warnings = new Warnings(options.strict, options.onWarning);
  const asRoot = options.asRoot ?? process.getuid?.() === 0;
  const devices = options.devices ?? false;
  const keepSetuid = options.keepSetuid ?? false;
  if (kind === 'squashfs') {
    const entries = await extractSquashfs({ image: options.image, dir, warnings, asRoot, devices, keepSetuid });
    return { kind, dir, segments: [], entries, warnings: warnings.list };
  }
  // A UKI: its sections as files, its initrd's tree under dir/initrd.
  const ukiFiles = uki ? await writeUkiSections(uki, dir) : undefined;
  const writer = new TreeWriter({ dir: uki ? join(dir, INITRD_DIR) : dir, warnings, asRoot, devices, keepSetuid, rootEntry: 'keep' });
  let current: UnpackEntry | undefined;
  try {
    const { segments } = await readInitrd(
      options.image,
      {
        entry: (header, segment) => {
          current = cpioUnpackEntry(header, segment);
          return writer.entry(current);
        },
        data: (chunk, header) => (header.type === 'file' ? writer.data(chunk) : undefined),
        entryEnd: () => (current ? writer.entryEnd(current) : undefined),
        archiveEnd: () => writer.archiveEnd(),
      },
      { warnings, maxSize: options.maxSize, chunkSize: options.chunkSize, ...(uki ? { range: uki.initrd } : {}) },
    );
    await writer.finish();
    return { kind, dir, ...(ukiFiles ? { ukiFiles } : {}), segments, entries: segments.reduce((n, s) => n + s.entries, 0), warnings: warnings.list };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** A newc header as the neutral entry the safe writer takes. */
export function cpioUnpackEntry(h: NewcHeader, segment: SegmentInfo): UnpackEntry {
  const inData = segment.compression === 'none' ? '' : ' of its decompressed data';
  const device = h.type === 'chardev' || h.type === 'blockdev';
  return {
    path: h.name,
    kind: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
    size: h.size,
    ...(h.type === 'symlink' ? { linkTarget: h.linkTargetBytes ?? Buffer.alloc(0) } : {}),
    ...(device ? { rdevMajor: h.rdevMajor, rdevMinor: h.rdevMinor } : {}),
    // Within one archive, same device, inode and mode with nlink >= 2 is one hard-link group.
    ...(h.type === 'file' && h.nlink >= 2 ? { linkGroup: `${h.devMajor}:${h.devMinor}:${h.ino}:${h.mode}` } : {}),
    where: `${segmentLabel(segment)}: entry '${escapeName(h.name)}' at byte ${h.offset}${inData}`,
  };
}

/**
 * The target must be new or empty: then everything under it is what this extraction made, and
 * a symlink planted there beforehand cannot redirect a write.
 */
async function prepareTarget(dir: string): Promise<string> {
  try {
    await makeDirs(dir);
    const real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new RambootError('io', `${dir} is not a directory`, 'extract into a new or empty directory');
    const present = await readdir(real);
    if (present.length > 0) {
      throw new ExtractError('E-TARGET-NOT-EMPTY', `${dir} is not empty (${present.length} entries)`, 'extract into a new or empty directory', { code: 'usage' });
    }
    // access(2) reports EROFS even to root: a read-only target fails here, before any work.
    await access(real, constants.W_OK);
    return real;
  } catch (err) {
    if (err instanceof RambootError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS' || code === 'EACCES') throw await writeFailure(err, { where: `cannot use ${dir} as the target`, target: dir });
    throw new RambootError('io', `cannot use ${dir} as the target: ${code ?? (err as Error).message}`, 'extract into a new or empty directory on a writable filesystem', { cause: err });
  }
}

/**
 * mkdir -p, one level at a time. Node's recursive mkdir loops forever when mkdir(2) keeps
 * failing with ENOENT on a parent that exists (any path under /proc), so it is not used.
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    const exists = await stat(at).then(() => true, () => false);
    if (exists) break;
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const at of missing) {
    await mkdir(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}
