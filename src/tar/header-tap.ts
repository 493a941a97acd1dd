// A second, minimal reader of tar headers that watches the same bytes tar-stream parses, to get
// what tar-stream loses:
// - pax values: it decodes extended headers into a `{ [key]: string }` with
//   b4a.toString(..., 'utf-8') (headers.js decodePax), so a binary xattr value such as
//   `SCHILY.xattr.security.capability` (0x01 0x00 0x00 0x02 ...) comes out with U+FFFD for every
//   byte that is not UTF-8;
// - names: a pax `path`/`linkpath` goes through the same decoding whatever `filenameEncoding`
//   says, so two names that differ only in non-UTF-8 bytes would come out as one.
// tar-stream exposes neither the raw extended header nor a hook. Rather than patching its
// private `_decodeLongHeader`, this tap walks the stream beside it: 512-byte headers, data sizes
// rounded to 512 (with the same rules tar-stream uses: a pax `size` record wins, a directory has
// no data), and keeps for every entry its raw name, link name and the pax records that apply to
// it, keyed by the byte offset of the entry's data. tar-stream puts that same offset in
// `header.byteOffset`, so the two parsers are matched by position: if they ever disagree the
// lookup fails and extraction stops (never a wrong xattr or name on the wrong file). Only headers
// and long-header data are buffered (capped at 4 MiB, tar-stream's own limit); file data is
// skipped. Names follow tar-stream's precedence: ustar prefix + '/' + name, then a GNU 'L'/'K'
// long name, then a non-empty pax path/linkpath (POSIX pax, "pax Extended Header").
// A header tar-stream rejects (bad checksum, a size that is no number) stops the tap quietly:
// tar-stream reports it, with the offset, as the cause; the tap must not answer first with a
// message about garbage it read as a pax header.
import { parsePaxRecords } from './pax.js';

const BLOCK = 512;
const MAX_LONG_HEADER = 4 * 1024 * 1024;

export interface TapEntry {
  /** The typeflag byte as a character ('0', '5', 'S', ...). */
  typeflag: string;
  /** Raw pax records that apply (global first, then the entry's own), values as bytes. */
  records: Map<string, Buffer>;
  /** Byte offset of the entry's header. */
  headerOffset: number;
  /** The entry's name, byte for byte as the archive stores it. */
  name: Buffer;
  /** Symlink or hard link target, byte for byte; undefined when the header has none. */
  linkname: Buffer | undefined;
}

type LongKind = 'x' | 'g' | 'L' | 'K';

export class TarHeaderTap {
  /** Entries whose data offset tar-stream has not asked about yet. */
  private readonly entries = new Map<number, TapEntry>();
  private offset = 0;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private skip = 0;
  private long: { kind: LongKind; data: Buffer; fill: number } | undefined;
  private globalRecords = new Map<string, Buffer>();
  private pending: Map<string, Buffer> | undefined;
  private longName: Buffer | undefined;
  private longLink: Buffer | undefined;
  /** A zero block was seen (the end-of-archive marker); GNU tar writes two. */
  endSeen = false;
  /** Set when a long header is malformed; reported by whoever asks next. */
  error: string | undefined;
  /** A header tar-stream will reject was met: nothing after it is read. */
  private stopped = false;

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.error === undefined && !this.stopped) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        if (this.long) {
          // The data, then its padding to 512, which is not kept.
          const keep = Math.max(0, Math.min(n, this.long.data.length - this.long.fill));
          chunk.copy(this.long.data, this.long.fill, at, at + keep);
          this.long.fill += keep;
        }
        this.skip -= n;
        at += n;
        this.offset += n;
        if (this.skip === 0 && this.long) this.endLong();
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
      chunk.copy(this.header, this.headerFill, at, at + n);
      this.headerFill += n;
      at += n;
      this.offset += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.onHeader(this.offset - BLOCK);
      }
    }
  }

  /** The entry whose data starts at `dataOffset` (tar-stream's header.byteOffset), removed. */
  take(dataOffset: number): TapEntry | undefined {
    const entry = this.entries.get(dataOffset);
    this.entries.delete(dataOffset);
    return entry;
  }

  private onHeader(at: number): void {
    const h = this.header;
    const sum = checksum(h);
    // tar-stream takes a block whose sum is that of an all-zero block as one (headers.js decode).
    if (sum === EMPTY_SUM) {
      this.endSeen = true;
      return;
    }
    let size = readSize(h.subarray(124, 136));
    if (sum !== readOctal(h.subarray(148, 156)) || !Number.isSafeInteger(size) || size < 0) {
      this.stopped = true;
      return;
    }
    const flag = String.fromCharCode(h[156] || 0x30);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_LONG_HEADER) {
        this.error = `${flag === 'x' || flag === 'g' ? 'pax' : 'GNU long name'} header at byte ${at} is ${size} bytes (over ${MAX_LONG_HEADER})`;
        return;
      }
      this.long = { kind: flag, data: Buffer.alloc(size), fill: 0 };
      this.skip = roundUp(size);
      if (size === 0) this.endLong();
      return;
    }
    // tar-stream merges the global records only into an entry that has its own pax header, and
    // only then do its size, path and linkpath apply.
    const own = this.pending ? new Map([...this.globalRecords, ...this.pending]) : undefined;
    const records = own ?? new Map(this.globalRecords);
    this.pending = undefined;
    const sizeRecord = own?.get('size');
    if (sizeRecord) size = parseInt(sizeRecord.toString('latin1'), 10);
    const headerName = ustarName(h);
    const name = nonEmpty(own?.get('path')) ?? this.longName ?? headerName;
    const linkname = nonEmpty(own?.get('linkpath')) ?? this.longLink ?? (h[157] === 0 ? undefined : cString(h, 157, 100));
    this.longName = undefined;
    this.longLink = undefined;
    // tar-stream: a directory (or an old-style name ending in '/') never has data.
    const isDir = flag === '5' || ((flag === '0' || h[156] === 0) && headerName.at(-1) === 0x2f);
    this.entries.set(at + BLOCK, { typeflag: flag, records, headerOffset: at, name, linkname });
    this.skip = isDir ? 0 : roundUp(size);
  }

  private endLong(): void {
    const { kind, data } = this.long!;
    this.long = undefined;
    if (kind === 'L' || kind === 'K') {
      // GNU long names end at their first NUL (tar-stream's decodeLongPath).
      const end = data.indexOf(0);
      const name = Buffer.from(end < 0 ? data : data.subarray(0, end));
      if (kind === 'L') this.longName = name;
      else this.longLink = name;
      return;
    }
    const records = parsePaxRecords(data);
    if (typeof records === 'string') {
      this.error = records;
      return;
    }
    if (kind === 'g') this.globalRecords = new Map([...this.globalRecords, ...records]);
    else this.pending = new Map([...(this.pending ?? []), ...records]);
  }
}

/** The 100-byte name, behind the 155-byte prefix of a POSIX ustar header (not of GNU's). */
function ustarName(h: Buffer): Buffer {
  const name = cString(h, 0, 100);
  const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
  if (!ustar || h[345] === 0) return name;
  return Buffer.concat([cString(h, 345, 155), Buffer.from('/'), name]);
}

/** A NUL-terminated field, copied out of the reused header buffer. */
function cString(h: Buffer, start: number, length: number): Buffer {
  const end = h.indexOf(0, start);
  return Buffer.from(h.subarray(start, end < 0 || end > start + length ? start + length : end));
}

function nonEmpty(value: Buffer | undefined): Buffer | undefined {
  return value && value.length > 0 ? value : undefined;
}

/** Octal, or GNU's base-256 (high bit of the first byte set) for sizes over 8 GiB. */
function readSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  return readOctal(field);
}

/** An octal field read the way tar-stream reads it (headers.js decodeOct): leading spaces
 * skipped, cut at the next space, leading NULs skipped, then parseInt, which stops at the first
 * non-octal byte. An empty field is 0; one that starts with no digit is NaN. */
function readOctal(field: Buffer): number {
  let start = 0;
  while (start < field.length && field[start] === 0x20) start++;
  const space = field.indexOf(0x20, start);
  const end = space < 0 ? field.length : space;
  while (start < end && field[start] === 0) start++;
  return start === end ? 0 : parseInt(field.toString('latin1', start, end), 8);
}

/** The header checksum: every byte summed, the checksum field itself counted as 8 spaces. */
function checksum(h: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += h[i]!;
  return sum;
}

const EMPTY_SUM = 8 * 0x20;

function roundUp(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
