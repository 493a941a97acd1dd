// `ramboot ls IMAGE`: an initrd's segments and entries, or a squashfs image's superblock and
// entries, as data (listImage) and as text or JSON (renderListing).
import type { CpioEntryType } from '../cpio/entry.js';
import type { ChunkSizer } from './byte-source.js';
import { detectImageKind } from './image-kind.js';
import { Warnings, type ExtractWarning } from './problems.js';
import { readInitrd, segmentLabel, type SegmentInfo } from './read-initrd.js';
import { listSquashfs, readSquashfsSuperblock, type SquashfsEntry, type SquashfsSuperblock } from './squashfs.js';

export interface ListedEntry {
  segment: number;
  /** Header offset: in the file for uncompressed segments, else in the decompressed data. */
  offset: number;
  /** As stored in the archive. */
  path: string;
  type: CpioEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  nlink: number;
  linkTarget?: string;
  rdevMajor?: number;
  rdevMinor?: number;
}

export interface InitrdListing {
  kind: 'initrd';
  image: string;
  fileSize: number;
  segments: SegmentInfo[];
  entries: ListedEntry[];
  warnings: ExtractWarning[];
}

export interface SquashfsListing {
  kind: 'squashfs';
  image: string;
  superblock: SquashfsSuperblock;
  entries: SquashfsEntry[];
  warnings: ExtractWarning[];
}

export type Listing = InitrdListing | SquashfsListing;

export interface ListOptions {
  image: string;
  maxSize?: number;
  onWarning?: (warning: ExtractWarning) => void;
  chunkSize?: ChunkSizer;
}

export async function listImage(options: ListOptions): Promise<Listing> {
  const { image } = options;
  const warnings = new Warnings(false, options.onWarning);
  if ((await detectImageKind(image)) === 'squashfs') {
    const superblock = await readSquashfsSuperblock(image);
    return { kind: 'squashfs', image, superblock, entries: await listSquashfs(image), warnings: warnings.list };
  }
  const entries: ListedEntry[] = [];
  const { segments, fileSize } = await readInitrd(
    image,
    {
      entry: (h, segment) => {
        const device = h.type === 'chardev' || h.type === 'blockdev';
        entries.push({
          segment: segment.index,
          offset: h.offset,
          path: h.path,
          type: h.type,
          mode: h.mode,
          uid: h.uid,
          gid: h.gid,
          size: h.size,
          mtime: h.mtime,
          nlink: h.nlink,
          ...(h.type === 'symlink' ? { linkTarget: h.linkTarget } : {}),
          ...(device ? { rdevMajor: h.rdevMajor, rdevMinor: h.rdevMinor } : {}),
        });
      },
    },
    { warnings, maxSize: options.maxSize, chunkSize: options.chunkSize },
  );
  return { kind: 'initrd', image, fileSize, segments, entries, warnings: warnings.list };
}

const MODULE = /\.ko(\.(xz|zst|gz))?$/;

export function isModulePath(path: string): boolean {
  return MODULE.test(path);
}

export interface RenderOptions {
  json?: boolean;
  /** Only kernel modules (*.ko, *.ko.xz, *.ko.zst, *.ko.gz). */
  modules?: boolean;
}

export function renderListing(listing: Listing, options: RenderOptions = {}): string {
  const entries = options.modules
    ? (listing.entries as Array<ListedEntry | SquashfsEntry>).filter((e) => e.type === 'file' && isModulePath(e.path))
    : listing.entries;
  if (options.json) {
    const shown = entries.map((e) => ({ ...e, mode: `0${(e.mode & 0o7777).toString(8).padStart(3, '0')}` }));
    const { entries: _all, ...rest } = listing;
    const body = options.modules
      ? { ...rest, modules: shown.map((e) => ({ path: e.path, name: moduleName(e.path), size: e.size, ...('segment' in e ? { segment: e.segment } : {}) })) }
      : { ...rest, entries: shown };
    return `${JSON.stringify(body, null, 2)}\n`;
  }
  const lines: string[] = [];
  if (listing.kind === 'squashfs') {
    const sb = listing.superblock;
    lines.push(
      `${listing.image}: squashfs ${sb.version}, ${sb.compression}, block size ${sb.blockSize}, ${sb.inodeCount} inodes, ${sb.bytesUsed} bytes used, made ${isoTime(sb.mkfsTime)}`,
      `flags: ${sb.flags.join(', ') || '(none)'}`,
    );
    for (const e of entries as SquashfsEntry[]) lines.push(options.modules ? moduleLine(e) : `${entryLine(e, e.mtime)}`);
  } else {
    lines.push(`${listing.image}: initrd, ${listing.fileSize} bytes, ${listing.segments.length} segment${listing.segments.length === 1 ? '' : 's'}`);
    for (const s of listing.segments) {
      lines.push(`${segmentLabel(s)}: ${s.compressedSize} bytes${s.compression === 'none' ? '' : `, ${s.size} decompressed`}, ${s.entries} entries${s.archives > 1 ? ` in ${s.archives} archives` : ''}`);
      for (const e of (entries as ListedEntry[]).filter((x) => x.segment === s.index)) {
        lines.push(`  ${options.modules ? moduleLine(e) : entryLine(e, isoTime(e.mtime).slice(0, 16))}`);
      }
    }
  }
  if (options.modules) {
    const total = entries.reduce((n, e) => n + e.size, 0);
    lines.push(`${entries.length} modules, ${total} bytes`);
  }
  return `${lines.join('\n')}\n`;
}

function moduleName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).replace(MODULE, '');
}

function moduleLine(e: { path: string; size: number }): string {
  return `${String(e.size).padStart(10)} ${e.path}`;
}

type Shown = Pick<ListedEntry, 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'path' | 'linkTarget' | 'rdevMajor' | 'rdevMinor'>;

function entryLine(e: Shown, time: string): string {
  const size = e.rdevMajor !== undefined ? `${e.rdevMajor},${e.rdevMinor}` : String(e.size);
  const link = e.linkTarget !== undefined ? ` -> ${e.linkTarget}` : '';
  return `${renderPermissions(e.type, e.mode)} ${`${e.uid}/${e.gid}`.padEnd(9)} ${size.padStart(10)} ${time} ${e.path}${link}`;
}

const TYPE_CHAR: Record<CpioEntryType, string> = { file: '-', dir: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p', socket: 's' };

/** 'd' + 0o4755 -> 'drwsr-xr-x', as ls -l and cpio -tv write it. */
export function renderPermissions(type: CpioEntryType, mode: number): string {
  const rwx = (bits: number, special: boolean, on: string, off: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? on : off) : bits & 1 ? 'x' : '-'}`;
  return (
    TYPE_CHAR[type] +
    rwx(mode >> 6, (mode & 0o4000) !== 0, 's', 'S') +
    rwx(mode >> 3, (mode & 0o2000) !== 0, 's', 'S') +
    rwx(mode, (mode & 0o1000) !== 0, 't', 'T')
  );
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}
