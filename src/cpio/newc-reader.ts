// newc bytes -> headers and data, as a push parser: feed chunks of any size and the same
// callbacks fire in the same order (one byte at a time included). Memory is bounded: a header,
// a name and a symlink target are buffered (each at most PATH_MAX), file data never is.
//
// An initrd can be many segments (early microcode cpio, then a compressed main cpio, ...).
// As the kernel's unpacker does (init/initramfs.c), NULs after a TRAILER!!! are skipped and a
// new header may follow; at any other byte the reader stops and reports where, so the caller
// can decompress the next segment and read it with a fresh reader. The input itself must
// begin with a header (no leading NULs), so that a non-cpio file is an error, not "empty".
import { inputError, type RambootError } from '../errors.js';
import { parseModeType, type CpioEntry } from './entry.js';
import {
  HEADER_SIZE,
  MAGIC_CRC,
  MAGIC_NEWC,
  PATH_MAX,
  TRAILER_NAME,
  addToChecksum,
  fieldAt,
  pad4,
  parseHeaderFields,
  type HeaderFields,
} from './newc-format.js';

export interface NewcHeader extends Omit<CpioEntry, 'data' | 'source'> {
  /** The name's bytes as stored (`path` is their UTF-8 decoding, lossy for other bytes). */
  name: Buffer;
  /** Symlinks: the target's bytes as stored (`linkTarget` is their UTF-8 decoding). */
  linkTargetBytes?: Buffer;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  size: number;
  ino: number;
  /** c_maj/c_min: the device the file was packed from (GNU cpio fills them in). */
  devMajor: number;
  devMinor: number;
  /** Byte offset of the header in the input. */
  offset: number;
  /** 070702 only: c_chksum, verified against the data of regular files. */
  checksum?: number;
}

/**
 * Callbacks, in this order for each entry: onEntry, onData (zero or more times), onEntryEnd.
 * For a symlink, onEntry comes after its target was read, so `linkTarget` is set; its data
 * (the target bytes) is still passed to onData. A chunk given to onData is a view into the
 * buffer passed to push(): copy it if that buffer is reused after the callback returns.
 */
export interface NewcReaderHandlers {
  onEntry?(header: NewcHeader): void;
  onData?(chunk: Buffer, header: NewcHeader): void;
  /** The entry's data and padding were read; for 070702 regular files, the checksum matched. */
  onEntryEnd?(header: NewcHeader): void;
  /** The TRAILER!!! that ends an archive, at byte `offset`. */
  onTrailer?(offset: number): void;
}

type State = 'header' | 'between' | 'name' | 'data' | 'link' | 'pad' | 'stopped' | 'failed';

const TRUNCATED_HINT = 'the archive was cut short (an interrupted download or write?)';

export class NewcReader {
  /** Archives (TRAILER!!!s) read so far. */
  archives = 0;
  /** Where non-cpio data began after a trailer, if the reader stopped there. */
  stoppedAt: number | undefined;

  private state: State = 'header';
  private failure: unknown;
  private pos: number;
  private readonly header = Buffer.alloc(HEADER_SIZE);
  private headerLen = 0;
  private headerOffset = 0;
  private fields: HeaderFields | undefined;
  /** The header being read would be the first of an archive. */
  private atArchiveStart = true;
  private crc = false;
  private name = Buffer.alloc(0); // name + NUL + padding, then a symlink target + padding
  private nameLen = 0;
  private entry: NewcHeader | undefined;
  private remaining = 0;
  private sum = 0;

  /** `offset` is the input's position in a larger file, so errors and offsets name real bytes. */
  constructor(
    private readonly handlers: NewcReaderHandlers = {},
    options: { offset?: number } = {},
  ) {
    this.pos = options.offset ?? 0;
    this.headerOffset = this.pos;
  }

  /** Bytes consumed so far (counting from the constructor's `offset`). */
  get offset(): number {
    return this.pos;
  }

  /** Feed the next chunk. Throws on corrupt input; ignores input after a stop. */
  push(chunk: Buffer): void {
    if (this.state === 'failed') throw this.failure;
    let i = 0;
    try {
      while (i < chunk.length && this.state !== 'stopped') {
        const start = i;
        switch (this.state) {
          case 'between':
            while (i < chunk.length && chunk[i] === 0) i++;
            this.pos += i - start;
            if (i < chunk.length) this.beginHeader();
            break;
          case 'header': {
            const before = this.headerLen;
            i += this.take(chunk, i, this.header, this.headerLen, HEADER_SIZE - this.headerLen);
            this.headerLen += i - start;
            if (before < 6) this.checkMagic();
            if (this.headerLen === HEADER_SIZE && this.state === 'header') this.readHeader();
            break;
          }
          case 'name':
          case 'link':
            i += this.take(chunk, i, this.name, this.nameLen, this.name.length - this.nameLen);
            this.nameLen += i - start;
            if (this.nameLen === this.name.length) {
              if (this.state === 'name') this.readName();
              else this.readLinkTarget();
            }
            break;
          case 'data': {
            const n = Math.min(this.remaining, chunk.length - i);
            const piece = chunk.subarray(i, i + n);
            i += n;
            this.pos += n;
            this.remaining -= n;
            if (this.crc && this.entry!.type === 'file') this.sum = addToChecksum(this.sum, piece);
            this.handlers.onData?.(piece, this.entry!);
            if (this.remaining === 0) this.endData();
            break;
          }
          case 'pad': {
            const n = Math.min(this.remaining, chunk.length - i);
            i += n;
            this.pos += n;
            this.remaining -= n;
            if (this.remaining === 0) this.endEntry();
            break;
          }
        }
      }
    } catch (err) {
      this.state = 'failed';
      this.failure = err;
      throw err;
    }
  }

  /** Call at the end of the input: throws unless it ended on an archive boundary. */
  end(): void {
    if (this.state === 'failed') throw this.failure;
    if (this.state === 'between' || this.state === 'stopped') return;
    const at = `cpio truncated at byte ${this.pos}`;
    const got = (n: number, of: number) => `(expected ${of} bytes, got ${n})`;
    const e = this.entry;
    let where: string;
    switch (this.state) {
      case 'header':
        this.checkMagic(true);
        if (this.headerLen === 0) {
          throw this.fail(this.pos === 0 ? 'no cpio archive: the input is empty' : `${at}: the archive ends without ${TRAILER_NAME}`, TRUNCATED_HINT);
        }
        where = `inside ${fieldAt(this.headerLen)} of the header at byte ${this.headerOffset} ${got(this.headerLen, HEADER_SIZE)}`;
        break;
      case 'name': {
        const size = this.fields!.c_namesize;
        where = this.nameLen < size
          ? `inside the name of the entry at byte ${this.headerOffset} ${got(this.nameLen, size)}`
          : `inside the padding after the name of the entry at byte ${this.headerOffset}`;
        break;
      }
      case 'link':
        where = this.nameLen < e!.size
          ? `inside the target of symlink ${e!.path} ${got(this.nameLen, e!.size)}`
          : `inside the padding after the target of symlink ${e!.path}`;
        break;
      case 'data':
        where = `inside the data of ${e!.path} ${got(e!.size - this.remaining, e!.size)}`;
        break;
      default:
        where = `inside the padding after the data of ${e!.path}`;
    }
    throw this.fail(`${at} ${where}`, TRUNCATED_HINT);
  }

  /** Copies up to `want` bytes of chunk[i..] into dest[at..] and counts them; returns how many. */
  private take(chunk: Buffer, i: number, dest: Buffer, at: number, want: number): number {
    const n = Math.min(want, chunk.length - i);
    chunk.copy(dest, at, i, i + n);
    this.pos += n;
    return n;
  }

  private beginHeader(): void {
    this.state = 'header';
    this.headerLen = 0;
    this.headerOffset = this.pos;
    this.fields = undefined;
  }

  /**
   * Inside an archive anything but 070701/070702 is corrupt. After a trailer it is where this
   * archive's bytes end: stop at the first byte that cannot begin a newc magic.
   */
  private checkMagic(atEnd = false): void {
    const n = Math.min(this.headerLen, 6);
    const seen = this.header.toString('latin1', 0, n);
    if (seen === MAGIC_NEWC.slice(0, n) || seen === MAGIC_CRC.slice(0, n)) return;
    if (this.archives > 0 && this.atArchiveStart) {
      this.state = 'stopped';
      this.stoppedAt = this.headerOffset;
      this.pos = this.headerOffset;
      return;
    }
    // Wait for all six bytes so the message is the same however the input was chunked.
    if (n < 6 && !atEnd) return;
    const odc = seen === '070707'.slice(0, n);
    throw this.fail(
      `bad cpio magic at byte ${this.headerOffset}: expected 070701 or 070702, found ${JSON.stringify(seen)}`,
      odc ? 'this is an old (odc) cpio; the kernel reads newc only (cpio -H newc)' : 'not an uncompressed newc cpio archive',
    );
  }

  private readHeader(): void {
    const fields = parseHeaderFields(this.header);
    if ('bad' in fields) {
      throw this.fail(`bad cpio header at byte ${this.headerOffset}: ${fields.bad} is ${JSON.stringify(fields.text)}, not 8 hex digits`);
    }
    if (fields.c_namesize < 2 || fields.c_namesize > PATH_MAX) {
      throw this.fail(`bad cpio header at byte ${this.headerOffset}: name size ${fields.c_namesize} is outside 2..${PATH_MAX}`);
    }
    this.fields = fields;
    this.crc = this.header.toString('latin1', 0, 6) === MAGIC_CRC;
    this.atArchiveStart = false;
    this.state = 'name';
    this.name = Buffer.allocUnsafe(fields.c_namesize + pad4(HEADER_SIZE + fields.c_namesize));
    this.nameLen = 0;
  }

  private readName(): void {
    const f = this.fields!;
    const nameEnd = f.c_namesize - 1;
    if (this.name[nameEnd] !== 0 || this.name.indexOf(0) !== nameEnd) {
      throw this.fail(`bad cpio name at byte ${this.headerOffset + HEADER_SIZE}: a name of ${nameEnd} bytes must end in its only NUL`);
    }
    const name = Buffer.from(this.name.subarray(0, nameEnd));
    const path = name.toString('utf8');
    if (path === TRAILER_NAME) {
      // buffer-format.rst: the end-of-archive marker's c_filesize must be zero.
      if (f.c_filesize !== 0) throw this.fail(`bad cpio trailer at byte ${this.headerOffset}: its size is ${f.c_filesize}, not 0`);
      this.archives++;
      this.atArchiveStart = true;
      this.state = 'between';
      this.handlers.onTrailer?.(this.headerOffset);
      return;
    }
    const type = parseModeType(f.c_mode);
    if (!type) throw this.fail(`bad cpio header at byte ${this.headerOffset} (${path}): mode 0o${f.c_mode.toString(8)} has no known file type`);
    this.entry = {
      path,
      name,
      type,
      mode: f.c_mode & 0o7777,
      uid: f.c_uid,
      gid: f.c_gid,
      mtime: f.c_mtime,
      nlink: f.c_nlink,
      rdevMajor: f.c_rmaj,
      rdevMinor: f.c_rmin,
      size: f.c_filesize,
      ino: f.c_ino,
      devMajor: f.c_maj,
      devMinor: f.c_min,
      offset: this.headerOffset,
      ...(this.crc ? { checksum: f.c_chksum } : {}),
    };
    this.sum = 0;
    if (type === 'symlink') {
      if (f.c_filesize > PATH_MAX) throw this.fail(`bad cpio entry at byte ${this.headerOffset}: symlink ${path} has a ${f.c_filesize}-byte target (over ${PATH_MAX})`);
      this.state = 'link';
      this.name = Buffer.allocUnsafe(f.c_filesize + pad4(f.c_filesize));
      this.nameLen = 0;
      if (this.name.length === 0) this.readLinkTarget();
      return;
    }
    this.handlers.onEntry?.(this.entry);
    this.state = 'data';
    this.remaining = f.c_filesize;
    if (this.remaining === 0) this.endData();
  }

  private readLinkTarget(): void {
    const e = this.entry!;
    const target = this.name.subarray(0, e.size);
    e.linkTargetBytes = Buffer.from(target);
    e.linkTarget = target.toString('utf8');
    this.handlers.onEntry?.(e);
    if (target.length > 0) this.handlers.onData?.(target, e);
    this.endEntry();
  }

  private endData(): void {
    const e = this.entry!;
    if (this.crc && e.type === 'file' && this.sum !== e.checksum) {
      throw this.fail(
        `cpio checksum mismatch in ${e.path} (entry at byte ${e.offset}): header says ${hex(e.checksum!)}, data sums to ${hex(this.sum)}`,
        'the archive is corrupt',
      );
    }
    this.state = 'pad';
    this.remaining = pad4(e.size);
    if (this.remaining === 0) this.endEntry();
  }

  private endEntry(): void {
    const e = this.entry!;
    this.beginHeader();
    this.handlers.onEntryEnd?.(e);
  }

  private fail(message: string, hint?: string): RambootError {
    return inputError(message, hint);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Reads a stream of newc bytes to its end or to the first non-cpio byte after a trailer. */
export async function readNewc(
  input: AsyncIterable<Buffer>,
  handlers: NewcReaderHandlers,
  options: { offset?: number } = {},
): Promise<{ archives: number; stoppedAt: number | undefined; bytes: number }> {
  const reader = new NewcReader(handlers, options);
  for await (const chunk of input) {
    reader.push(chunk);
    if (reader.stoppedAt !== undefined) break;
  }
  reader.end();
  return { archives: reader.archives, stoppedAt: reader.stoppedAt, bytes: reader.offset - (options.offset ?? 0) };
}

/** Convenience: parse a whole buffer into entries with data (tests, small archives). */
export function decodeNewc(buf: Buffer): Array<NewcHeader & { data: Buffer }> {
  const entries: Array<NewcHeader & { data: Buffer }> = [];
  let chunks: Buffer[] = [];
  const reader = new NewcReader({
    onData: (chunk) => chunks.push(chunk),
    onEntryEnd: (header) => {
      entries.push({ ...header, data: Buffer.concat(chunks) });
      chunks = [];
    },
  });
  reader.push(buf);
  reader.end();
  if (reader.stoppedAt !== undefined) {
    throw inputError(
      `non-cpio data at byte ${reader.stoppedAt} after the last ${TRAILER_NAME}`,
      'a compressed segment follows; read it with NewcReader after decompressing it',
    );
  }
  return entries;
}
