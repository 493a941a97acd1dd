// A second, minimal reader of tar headers that watches the same bytes tar-stream parses, to get
// what tar-stream loses: it decodes pax extended headers into a `{ [key]: string }` with
// b4a.toString(..., 'utf-8') (headers.js decodePax), so a binary xattr value such as
// `SCHILY.xattr.security.capability` (0x01 0x00 0x00 0x02 ...) comes out with U+FFFD for every
// byte that is not UTF-8, and tar-stream does not expose the raw extended header or a hook.
// Rather than patching its private `_decodeLongHeader`, this tap walks the stream beside it:
// 512-byte headers, data sizes rounded to 512 (with the same rules tar-stream uses: a pax `size`
// record wins, a directory has no data), and keeps for every entry the raw pax records that
// apply to it, keyed by the byte offset of the entry's data. tar-stream puts that same offset in
// `header.byteOffset`, so the two parsers are matched by position: if they ever disagree the
// lookup fails and extraction stops (never a wrong xattr on the wrong file). Only headers and
// pax data are buffered (pax data capped at 4 MiB, tar-stream's own limit); file data is skipped.
// Record format: "<len> <key>=<value>\n", len counting the whole record (POSIX pax,
// https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_03).
const BLOCK = 512;
const MAX_PAX = 4 * 1024 * 1024;

export interface TapEntry {
  /** The typeflag byte as a character ('0', '5', 'S', ...). */
  typeflag: string;
  /** Raw pax records that apply (global first, then the entry's own), values as bytes. */
  records: Map<string, Buffer>;
  /** Byte offset of the entry's header. */
  headerOffset: number;
}

export class TarHeaderTap {
  /** Entries whose data offset tar-stream has not asked about yet. */
  private readonly entries = new Map<number, TapEntry>();
  private offset = 0;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private skip = 0;
  private pax: { global: boolean; data: Buffer; fill: number } | undefined;
  private globalRecords = new Map<string, Buffer>();
  private pending: Map<string, Buffer> | undefined;
  /** A zero block was seen (the end-of-archive marker); GNU tar writes two. */
  endSeen = false;
  /** Set when the pax data is malformed; reported by whoever asks next. */
  error: string | undefined;

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.error === undefined) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        if (this.pax) {
          // The data, then its padding to 512, which is not kept.
          const keep = Math.max(0, Math.min(n, this.pax.data.length - this.pax.fill));
          chunk.copy(this.pax.data, this.pax.fill, at, at + keep);
          this.pax.fill += keep;
        }
        this.skip -= n;
        at += n;
        this.offset += n;
        if (this.skip === 0 && this.pax) this.endPax();
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
    if (h.every((b) => b === 0)) {
      this.endSeen = true;
      return;
    }
    const flag = String.fromCharCode(h[156] || 0x30);
    let size = readSize(h.subarray(124, 136));
    if (flag === 'x' || flag === 'g') {
      if (size > MAX_PAX) {
        this.error = `pax header at byte ${at} is ${size} bytes (over ${MAX_PAX})`;
        return;
      }
      this.pax = { global: flag === 'g', data: Buffer.alloc(size), fill: 0 };
      this.skip = roundUp(size);
      if (size === 0) this.endPax();
      return;
    }
    if (flag === 'L' || flag === 'K') {
      this.skip = roundUp(size);
      return;
    }
    const records = new Map([...this.globalRecords, ...(this.pending ?? [])]);
    // tar-stream merges the global records only into an entry that has its own pax header.
    const sizeRecord = this.pending ? records.get('size') : undefined;
    this.pending = undefined;
    if (sizeRecord) size = parseInt(sizeRecord.toString('latin1'), 10);
    // tar-stream: a directory (or an old-style name ending in '/') never has data.
    const lastNameByte = h.subarray(0, 100).reduce((last, b, i) => (b !== 0 ? i : last), -1);
    const isDir = flag === '5' || ((flag === '0' || h[156] === 0) && lastNameByte >= 0 && h[lastNameByte] === 0x2f);
    this.entries.set(at + BLOCK, { typeflag: flag, records, headerOffset: at });
    this.skip = isDir ? 0 : roundUp(size);
  }

  private endPax(): void {
    const pax = this.pax!;
    this.pax = undefined;
    const records = parsePaxRecords(pax.data);
    if (typeof records === 'string') {
      this.error = records;
      return;
    }
    if (pax.global) this.globalRecords = new Map([...this.globalRecords, ...records]);
    else this.pending = new Map([...(this.pending ?? []), ...records]);
  }
}

/** "<len> <key>=<value>\n" records -> key -> raw value bytes; a string is the parse error. */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> | string {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, at);
    const len = space > at ? Number(data.toString('latin1', at, space)) : NaN;
    if (!Number.isInteger(len) || len <= space - at + 2 || at + len > data.length || data[at + len - 1] !== 0x0a) {
      return `malformed pax record at offset ${at} of its header`;
    }
    const eq = data.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= at + len - 1) return `pax record at offset ${at} has no '='`;
    records.set(data.toString('utf8', space + 1, eq), Buffer.from(data.subarray(eq + 1, at + len - 1)));
    at += len;
  }
  return records;
}

/** Octal, or GNU's base-256 (high bit of the first byte set) for sizes over 8 GiB. */
function readSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function roundUp(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
