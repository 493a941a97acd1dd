// One tar member as the unpacker needs it: kind, name and link target as bytes, mode, owner,
// time, size, device numbers and xattrs. tar-stream has already checked the header checksum and
// parsed the numeric fields; the tap (header-tap.ts) supplies what tar-stream decodes lossily:
// names, link targets and pax records. pax uid/gid/mtime win over the header's octal fields
// (they exist for values the fields cannot hold).
import { isUtf8 } from 'node:buffer';
import type tarStream from 'tar-stream';
import type { TapEntry } from './header-tap.js';
import { paxNumber, readXattrs } from './pax.js';
import { ExtractError } from '../unpack/problems.js';

export type TarEntryKind = 'file' | 'hardlink' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo';

export interface TarEntry {
  kind: TarEntryKind;
  /** As stored: may be absolute, may hold '..' (the unpacker decides), may be any bytes. */
  path: Buffer;
  /** Symlink target, or the earlier member a hard link names. */
  linkTarget: Buffer | undefined;
  /** Permission bits with setuid/setgid/sticky (no file type). */
  mode: number;
  uid: number;
  gid: number;
  /** Whole seconds (a pax fraction is dropped: squashfs and cpio keep seconds). */
  mtime: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  /** Byte offset of the member's header in the (decompressed) tar data. */
  headerOffset: number;
  xattrs: Array<[string, Buffer]>;
}

const KINDS: Partial<Record<string, TarEntryKind>> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'hardlink',
  directory: 'dir',
  symlink: 'symlink',
  'character-device': 'chardev',
  'block-device': 'blockdev',
  fifo: 'fifo',
};

/** The member tar-stream emitted with header `h`, or undefined for one that makes no file (a
 * GNU volume label). `where` names it in errors. */
export function readTarEntry(h: tarStream.Header, tap: TapEntry, where: string): TarEntry | undefined {
  if ([...tap.records.keys()].some((k) => k.startsWith('GNU.sparse.')) || tap.typeflag === 'S') {
    throw new ExtractError('E-CORRUPT', `${where} is a GNU sparse file, which ramboot does not unpack`, 're-create the tarball without --sparse');
  }
  const kind = h.type ? KINDS[h.type] : undefined;
  if (!kind) {
    if (tap.typeflag === 'V') return undefined;
    throw new ExtractError('E-CORRUPT', `${where} has tar type '${tap.typeflag}', which ramboot does not unpack`);
  }
  const mtime = paxNumber(tap.records, 'mtime', where) ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
  return {
    kind,
    path: tap.name,
    linkTarget: kind === 'hardlink' || kind === 'symlink' ? (tap.linkname ?? Buffer.alloc(0)) : undefined,
    mode: (h.mode ?? 0) & 0o7777,
    uid: paxNumber(tap.records, 'uid', where) ?? h.uid ?? 0,
    gid: paxNumber(tap.records, 'gid', where) ?? h.gid ?? 0,
    mtime: Math.floor(mtime),
    size: kind === 'file' ? (h.size ?? 0) : 0,
    rdevMajor: h.devmajor ?? 0,
    rdevMinor: h.devminor ?? 0,
    headerOffset: tap.headerOffset,
    xattrs: readXattrs(tap.records, where),
  };
}

/** A name for messages, one line of text: valid UTF-8 as is, but control bytes and bytes that
 * are not UTF-8 as \xHH (the file itself keeps its bytes). */
export function displayName(bytes: Buffer): string {
  const hex = (b: number) => `\\x${b.toString(16).padStart(2, '0')}`;
  if (!isUtf8(bytes)) return [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : hex(b))).join('');
  return bytes.toString('utf8').replace(/[\x00-\x1f\x7f]/g, (c) => hex(c.charCodeAt(0)));
}
