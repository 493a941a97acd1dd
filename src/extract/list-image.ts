// `ramboot ls IMAGE`: an initrd's segments and entries, or a squashfs image's superblock and
// entries. writeListing() renders while it reads (text or JSON, entry by entry, with stdout
// backpressure), so memory stays bounded for any number of entries; listImage() collects the
// same data for callers that want it whole.
// Names are bytes: text output escapes them as `ls -b` does (display-name.ts); JSON carries a
// UTF-8 name as a string and any other name as an escaped string plus its exact bytes in
// `pathBase64` (`linkTargetBase64` for symlink targets).
import type { CpioEntryType } from '../cpio/entry.js';
import { escapeName, isUtf8Name, jsonName } from '../unpack/display-name.js';
import { Warnings, type ExtractWarning } from '../unpack/problems.js';
import type { ChunkSizer } from './byte-source.js';
import { detectImageKind } from './image-kind.js';
import { stringOutput, type Output } from './output.js';
import { readInitrd, segmentLabel, type SegmentInfo } from './read-initrd.js';
import { readSquashfsSuperblock, visitSquashfsEntries, type SquashfsEntry, type SquashfsSuperblock } from './squashfs.js';
import { isPeImage, readUkiLayout, type UkiLayout } from '../uki/read-uki.js';
import { renderUkiHeader, ukiJson } from '../uki/render-uki.js';

export interface ListedEntry {
  segment: number;
  /** Header offset: in the file for uncompressed segments, else in the decompressed data. */
  offset: number;
  /** As stored in the archive: the UTF-8 text, or the escaped form when the bytes are not UTF-8. */
  path: string;
  /** The exact bytes of the name. */
  pathBytes: Buffer;
  type: CpioEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  nlink: number;
  linkTarget?: string;
  linkTargetBytes?: Buffer;
  rdevMajor?: number;
  rdevMinor?: number;
}

export interface InitrdListing {
  kind: 'initrd';
  image: string;
  fileSize: number;
  /** The image is a UKI and this initrd its .initrd section (offsets are within the section). */
  uki?: UkiLayout;
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

export interface RenderOptions {
  json?: boolean;
  /** Only kernel modules (*.ko, *.ko.xz, *.ko.zst, *.ko.gz). */
  modules?: boolean;
}

/** What a listing consumer is told, in order. */
type Awaitable = void | Promise<void>;

interface ListingSink {
  initrd?(image: string, fileSize: number): Awaitable;
  squashfs?(image: string, superblock: SquashfsSuperblock): Awaitable;
  uki?(layout: UkiLayout): Awaitable;
  segment?(segment: SegmentInfo): Awaitable;
  entry(entry: ListedEntry | SquashfsEntry): Awaitable;
  segmentEnd?(segment: SegmentInfo): Awaitable;
  end(segments: SegmentInfo[], warnings: ExtractWarning[]): Awaitable;
}

async function visitListing(options: ListOptions, sink: ListingSink): Promise<void> {
  const { image } = options;
  const warnings = new Warnings(false, options.onWarning);
  if ((await detectImageKind(image)) === 'squashfs') {
    await sink.squashfs?.(image, await readSquashfsSuperblock(image));
    await visitSquashfsEntries(image, (e) => sink.entry(e));
    await sink.end([], warnings.list);
    return;
  }
  // A UKI: its sections, then its .initrd read in place like any initrd.
  const uki = (await isPeImage(image)) ? await readUkiLayout(image) : undefined;
  if (uki) await sink.uki?.(uki);
  const { segments } = await readInitrd(
    image,
    {
      start: (fileSize) => (uki ? undefined : sink.initrd?.(image, fileSize)),
      segment: (segment) => sink.segment?.(segment),
      entry: (h, segment) => sink.entry(listedEntry(h, segment.index)),
      segmentEnd: (segment) => sink.segmentEnd?.(segment),
    },
    { warnings, maxSize: options.maxSize, chunkSize: options.chunkSize, ...(uki ? { range: uki.initrd } : {}) },
  );
  await sink.end(segments, warnings.list);
}

function listedEntry(h: import('../cpio/newc-reader.js').NewcHeader, segment: number): ListedEntry {
  const device = h.type === 'chardev' || h.type === 'blockdev';
  const target = h.linkTargetBytes ?? Buffer.alloc(0);
  return {
    segment,
    offset: h.offset,
    path: shownName(h.name),
    pathBytes: h.name,
    type: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime: h.mtime,
    nlink: h.nlink,
    ...(h.type === 'symlink' ? { linkTarget: shownName(target), linkTargetBytes: target } : {}),
    ...(device ? { rdevMajor: h.rdevMajor, rdevMinor: h.rdevMinor } : {}),
  };
}

function shownName(bytes: Buffer): string {
  return isUtf8Name(bytes) ? bytes.toString('utf8') : escapeName(bytes);
}

export async function listImage(options: ListOptions): Promise<Listing> {
  const entries: Array<ListedEntry | SquashfsEntry> = [];
  let head: { kind: 'initrd'; fileSize: number } | { kind: 'squashfs'; superblock: SquashfsSuperblock } | undefined;
  let tail: { segments: SegmentInfo[]; warnings: ExtractWarning[] } | undefined;
  let uki: UkiLayout | undefined;
  await visitListing(options, {
    uki: (layout) => {
      uki = layout;
      head = { kind: 'initrd', fileSize: layout.initrd.length };
    },
    initrd: (_, fileSize) => {
      head = { kind: 'initrd', fileSize };
    },
    squashfs: (_, superblock) => {
      head = { kind: 'squashfs', superblock };
    },
    entry: (e) => {
      entries.push(e);
    },
    end: (segments, warnings) => {
      tail = { segments, warnings };
    },
  });
  if (head?.kind === 'squashfs') return { kind: 'squashfs', image: options.image, superblock: head.superblock, entries: entries as SquashfsEntry[], warnings: tail!.warnings };
  return { kind: 'initrd', image: options.image, fileSize: head?.kind === 'initrd' ? head.fileSize : 0, ...(uki ? { uki } : {}), segments: tail!.segments, entries: entries as ListedEntry[], warnings: tail!.warnings };
}

/** Reads the image and writes its listing to `out` as it goes. */
export async function writeListing(options: ListOptions, render: RenderOptions, out: Output): Promise<void> {
  await visitListing(options, listingRenderer(render, out));
  await out.flush();
}

/** A collected listing as text or JSON (the same renderer, fed from memory). */
export function renderListing(listing: Listing, options: RenderOptions = {}): string {
  // stringOutput's writes are synchronous, so the renderer runs to its end right here.
  const out = stringOutput();
  const sink = listingRenderer(options, out);
  if (listing.kind === 'squashfs') {
    sink.squashfs!(listing.image, listing.superblock);
    for (const e of listing.entries) sink.entry(e);
  } else {
    if (listing.uki) sink.uki!(listing.uki);
    else sink.initrd!(listing.image, listing.fileSize);
    for (const s of listing.segments) {
      sink.segment!(s);
      for (const e of listing.entries) if (e.segment === s.index) sink.entry(e);
      sink.segmentEnd!(s);
    }
  }
  sink.end(listing.kind === 'initrd' ? listing.segments : [], listing.warnings);
  return out.text();
}

const MODULE = /\.ko(\.(xz|zst|gz))?$/;

export function isModulePath(path: string): boolean {
  return MODULE.test(path);
}

function listingRenderer(options: RenderOptions, out: Output): ListingSink {
  let count = 0;
  let moduleBytes = 0;
  const json = options.json === true;
  const isShown = (e: ListedEntry | SquashfsEntry) => !options.modules || (e.type === 'file' && isModulePath(e.path));
  const listKey = options.modules ? 'modules' : 'entries';
  const open = (fields: Record<string, unknown>) => `${JSON.stringify(fields).slice(0, -1)},${JSON.stringify(listKey)}:[`;
  const sink: ListingSink = {
    initrd(image, fileSize) {
      return out.write(json ? open({ kind: 'initrd', image, fileSize }) : `${image}: initrd, ${fileSize} bytes\n`);
    },
    uki(layout) {
      return out.write(json ? open(ukiJson(layout)) : renderUkiHeader(layout));
    },
    squashfs(image, sb) {
      if (json) return out.write(open({ kind: 'squashfs', image, superblock: sb }));
      return out.write(
        `${image}: squashfs ${sb.version}, ${sb.compression}, block size ${sb.blockSize}, ${sb.inodeCount} inodes, ${sb.bytesUsed} bytes used, made ${isoTime(sb.mkfsTime)}\n` +
          `flags: ${sb.flags.join(', ') || '(none)'}\n`,
      );
    },
    segment(s) {
      if (!json) return out.write(`${segmentLabel(s)}\n`);
      return undefined;
    },
    entry(e) {
      if (!isShown(e)) return undefined;
      count++;
      moduleBytes += e.size;
      const inInitrd = 'segment' in e;
      if (json) {
        return out.write(`${count > 1 ? ',' : ''}\n${JSON.stringify(options.modules ? moduleJson(e) : entryJson(e))}`);
      }
      const line = options.modules ? moduleLine(e) : entryLine(e, inInitrd ? isoTime(e.mtime as number).slice(0, 16) : String(e.mtime));
      return out.write(`${inInitrd ? '  ' : ''}${line}\n`);
    },
    segmentEnd(s) {
      if (json) return undefined;
      return out.write(`${segmentLabel(s)}: ${s.compressedSize} bytes${s.compression === 'none' ? '' : `, ${s.size} decompressed`}, ${s.entries} entries${s.archives > 1 ? ` in ${s.archives} archives` : ''}\n`);
    },
    end(segments, warnings) {
      if (json) {
        const rest = segments.length > 0 ? { segments } : {};
        return out.write(`\n],${JSON.stringify({ ...rest, warnings }).slice(1)}\n`);
      }
      if (options.modules) return out.write(`${count} modules, ${moduleBytes} bytes\n`);
      if (segments.length > 0) return out.write(`${segments.length} segment${segments.length === 1 ? '' : 's'}, ${segments.reduce((n, s) => n + s.entries, 0)} entries\n`);
      return undefined;
    },
  };
  return sink;
}

function entryJson(e: ListedEntry | SquashfsEntry): Record<string, unknown> {
  const { pathBytes, linkTargetBytes, path: _p, linkTarget: _l, ...rest } = e as ListedEntry;
  return {
    ...rest,
    ...jsonName('path', pathBytes),
    mode: `0${(e.mode & 0o7777).toString(8).padStart(3, '0')}`,
    ...(linkTargetBytes ? jsonName('linkTarget', linkTargetBytes) : {}),
  };
}

function moduleJson(e: ListedEntry | SquashfsEntry): Record<string, unknown> {
  return { ...jsonName('path', e.pathBytes), name: moduleName(e.path), size: e.size, ...('segment' in e ? { segment: e.segment } : {}) };
}

function moduleName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).replace(MODULE, '');
}

function moduleLine(e: { pathBytes: Buffer; size: number }): string {
  return `${String(e.size).padStart(10)} ${escapeName(e.pathBytes)}`;
}

type Shown = Pick<ListedEntry, 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'pathBytes' | 'linkTargetBytes' | 'rdevMajor' | 'rdevMinor'>;

/** One `ls -l`-like line; names escaped, so a name cannot forge lines or drive the terminal. */
function entryLine(e: Shown, time: string): string {
  const size = e.rdevMajor !== undefined ? `${e.rdevMajor},${e.rdevMinor}` : String(e.size);
  const link = e.linkTargetBytes !== undefined ? ` -> ${escapeName(e.linkTargetBytes)}` : '';
  return `${renderPermissions(e.type, e.mode)} ${`${e.uid}/${e.gid}`.padEnd(9)} ${size.padStart(10)} ${time} ${escapeName(e.pathBytes)}${link}`;
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

let lastTime: { seconds: number; text: string } | undefined;

/** Memoized for the previous value: an image's entries mostly share one mtime, and formatting a
 * Date was the largest item of `ls` after start-up in a CPU profile (6 ms of 700 entries). */
function isoTime(seconds: number): string {
  if (lastTime?.seconds !== seconds) lastTime = { seconds, text: new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') };
  return lastTime.text;
}
