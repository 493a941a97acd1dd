// Finding where a compressed segment ends without decompressing it. The kernel unpacks an
// initrd as segments: after a compressed stream ends, the bytes that follow are the next
// segment (init/initramfs.c unpack_to_rootfs). The system decompressors cannot say where they
// stopped, so for zstd, xz and legacy lz4 we walk the container's own length fields (frame and
// block headers, LZMA2 chunk headers, lz4 chunk sizes) and hand the decompressor exactly the
// stream's bytes. Walkers are generators that ask for bytes to read or skip; the driver feeds
// them from chunks of any size, so memory is a few header bytes.
import { ExtractError } from '../unpack/problems.js';

/**
 * `read`: the next n bytes, as a Buffer. With `eofOk`, the end of the input may come first;
 * the walker then gets undefined and must finish. `skip`: n bytes that are passed on unread.
 */
export type Need = { read: number; eofOk?: boolean } | { skip: number };
/** A walker returns 'unread-last' when its last read was not part of the stream after all. */
export type Walker = Generator<Need, void | 'unread-last', Buffer | undefined>;

export interface PushResult {
  /** Bytes of the stream, in order, to hand to the decompressor. */
  out: Buffer[];
  /** Once the stream ended: the bytes after it (possibly empty), for the next segment. */
  rest?: Buffer;
}

export class FrameDriver {
  /** Bytes of the stream seen so far. */
  consumed = 0;
  done = false;
  private need: Need | undefined;
  private buf = Buffer.alloc(0);
  private have = 0;
  private skipLeft = 0;
  private out: Buffer[] = [];
  private giveBack: Buffer | undefined;

  constructor(
    private readonly walker: Walker,
    private readonly truncated: (consumed: number) => ExtractError,
  ) {
    this.resume(undefined);
  }

  push(chunk: Buffer): PushResult {
    let i = 0;
    while (!this.done && i < chunk.length) {
      const need = this.need!;
      if ('skip' in need) {
        const n = Math.min(this.skipLeft, chunk.length - i);
        this.out.push(chunk.subarray(i, i + n));
        this.skipLeft -= n;
        this.consumed += n;
        i += n;
        if (this.skipLeft === 0) this.resume(undefined);
      } else {
        const n = Math.min(this.buf.length - this.have, chunk.length - i);
        chunk.copy(this.buf, this.have, i, i + n);
        this.have += n;
        this.consumed += n;
        i += n;
        if (this.have === this.buf.length) this.resume(this.buf);
      }
    }
    return this.take(this.done ? chunk.subarray(i) : undefined);
  }

  /** The input ended: the stream must be complete, or the walker must accept the end here. */
  end(): PushResult {
    if (!this.done) {
      const need = this.need!;
      if (!('read' in need && need.eofOk)) throw this.truncated(this.consumed);
      // A partial read is not part of the stream: it goes back as trailing bytes.
      const partial = Buffer.from(this.buf.subarray(0, this.have));
      this.consumed -= partial.length;
      this.giveBack = partial;
      this.resume(undefined);
      if (!this.done) throw this.truncated(this.consumed);
    }
    return this.take(Buffer.alloc(0));
  }

  private take(tail: Buffer | undefined): PushResult {
    const out = this.out;
    this.out = [];
    if (tail === undefined) return { out };
    const rest = this.giveBack ? Buffer.concat([this.giveBack, tail]) : tail;
    this.giveBack = undefined;
    return { out, rest };
  }

  private resume(value: Buffer | undefined): void {
    for (;;) {
      // The bytes of a completed read belong to the stream unless the walker gives them back.
      const previous = this.need && 'read' in this.need && value ? value : undefined;
      const step = this.walker.next(value);
      if (step.done) {
        this.done = true;
        if (step.value === 'unread-last' && previous) {
          this.giveBack = Buffer.from(previous);
          this.consumed -= previous.length;
        } else if (previous) {
          this.out.push(previous);
        }
        return;
      }
      if (previous) this.out.push(previous);
      this.need = step.value;
      if ('skip' in step.value) {
        this.skipLeft = step.value.skip;
        if (this.skipLeft > 0) return;
        value = undefined;
      } else {
        this.buf = Buffer.alloc(step.value.read);
        this.have = 0;
        if (step.value.read > 0) return;
        value = this.buf;
      }
    }
  }
}

/**
 * The same walk over a file by positional reads: only the headers are read and the data
 * between them is skipped, so finding where a 14 MB zstd stream ends costs ~400 reads of 3
 * bytes instead of reading the 14 MB. Returns the stream's length from `start`.
 */
export function measureStream(
  walker: Walker,
  readAt: (position: number, length: number) => Buffer,
  start: number,
  size: number,
  truncated: (consumed: number) => ExtractError,
): number {
  let pos = start;
  let value: Buffer | undefined;
  let atEnd = false;
  for (let step = walker.next(undefined); ; step = walker.next(value)) {
    if (!step.done && atEnd) throw truncated(size - start);
    if (step.done) {
      // As FrameDriver: a last read the walker gives back is not part of the stream.
      if (step.value === 'unread-last' && value) pos -= value.length;
      return pos - start;
    }
    const need = step.value;
    value = undefined;
    if ('skip' in need) {
      if (pos + need.skip > size) throw truncated(size - start);
      pos += need.skip;
      continue;
    }
    const got = readAt(pos, Math.min(need.read, size - pos));
    if (got.length < need.read) {
      if (!need.eofOk) throw truncated(size - start);
      atEnd = true; // the walker is told the input ended (value undefined) and must finish
      continue;
    }
    value = got;
    pos += got.length;
  }
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

type Fail = (message: string) => ExtractError;

/** One zstd frame (RFC 8878 section 3.1.1): header, blocks to the last one, optional checksum. */
export function* walkZstdFrame(fail: Fail): Walker {
  const head = (yield { read: 5 })!;
  if (head.readUInt32LE(0) !== 0xfd2fb528) throw fail('not a zstd frame');
  const fhd = head[4]!;
  if (fhd & 0x08) throw fail('the frame header has its reserved bit set');
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const hasChecksum = (fhd >> 2) & 1;
  const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
  const fcsSize = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag]!;
  yield { skip: (singleSegment ? 0 : 1) + dictIdSize + fcsSize };
  for (;;) {
    const b = (yield { read: 3 })!;
    const header = b[0]! | (b[1]! << 8) | (b[2]! << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw fail('a block has the reserved type 3');
    // Block_Maximum_Size is at most 128 KiB; for RLE blocks the size is the regenerated size.
    if (size > 128 * 1024) throw fail(`a block claims ${size} bytes (at most 131072)`);
    yield { skip: type === 1 ? 1 : size };
    if (last) break;
  }
  if (hasChecksum) yield { skip: 4 };
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
/** Check sizes by check ID (xz file format 1.1.0, section 3.1.3). */
const XZ_CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

/** One .xz stream (xz file format 1.1.0): header, blocks, index, footer. */
export function* walkXzStream(fail: Fail): Walker {
  const header = (yield { read: 12 })!;
  if (!header.subarray(0, 6).equals(XZ_MAGIC)) throw fail('not an xz stream');
  if (header[6] !== 0 || header[7]! > 0x0f) throw fail('unsupported stream flags');
  const checkSize = XZ_CHECK_SIZES[header[7]!]!;
  let blocks = 0;
  for (;;) {
    const first = (yield { read: 1 })![0]!;
    if (first === 0) break; // the index indicator
    const rest = (yield { read: first * 4 + 3 })!;
    const flags = rest[0]!;
    if (flags & 0x3c) throw fail('a block header has reserved flag bits set');
    let compressed: number | undefined;
    if (flags & 0x40) compressed = readVarint(rest, 1, fail).value;
    if (compressed !== undefined) yield { skip: compressed };
    else compressed = yield* walkLzma2(fail);
    yield { skip: pad4(compressed) + checkSize };
    blocks++;
  }
  const counted = { n: 1 };
  const records = yield* varint(counted, fail);
  if (records !== blocks) throw fail(`the index lists ${records} blocks, the stream has ${blocks}`);
  for (let r = 0; r < records * 2; r++) yield* varint(counted, fail);
  yield { skip: pad4(counted.n) + 4 }; // index padding and CRC32
  const footer = (yield { read: 12 })!;
  if (footer[10] !== 0x59 || footer[11] !== 0x5a) throw fail('the stream footer does not end in "YZ"');
  if (footer[8] !== header[6] || footer[9] !== header[7]) throw fail('the stream footer flags differ from the header');
}

/** LZMA2 chunks up to the end marker; every chunk header carries its compressed size. */
function* walkLzma2(fail: Fail): Generator<Need, number, Buffer | undefined> {
  let size = 0;
  for (;;) {
    const control = (yield { read: 1 })![0]!;
    size++;
    if (control === 0) return size;
    if (control === 1 || control === 2) {
      const n = (yield { read: 2 })!.readUInt16BE(0) + 1;
      yield { skip: n };
      size += 2 + n;
      continue;
    }
    if (control < 0x80) throw fail(`invalid LZMA2 control byte 0x${control.toString(16)}`);
    // Reset modes 2 and 3 (bits 5-6) carry a properties byte.
    const head = (yield { read: control >= 0xc0 ? 5 : 4 })!;
    const n = head.readUInt16BE(2) + 1;
    yield { skip: n };
    size += head.length + n;
  }
}

function* varint(counted: { n: number }, fail: Fail): Generator<Need, number, Buffer | undefined> {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 9; i++) {
    const b = (yield { read: 1 })![0]!;
    counted.n++;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (!(b & 0x80)) return value;
  }
  throw fail('a variable-length integer is longer than 9 bytes');
}

function readVarint(buf: Buffer, at: number, fail: Fail): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 9; i++) {
    value += (buf[i]! & 0x7f) * scale;
    scale *= 128;
    if (!(buf[i]! & 0x80)) return { value, next: i + 1 };
  }
  throw fail('a block header size field is malformed');
}

const LZ4_LEGACY_MAGIC = 0x184c2102;
/** LZ4_compressBound(8 MiB), the largest chunk the legacy format can hold (lib/decompress_unlz4.c). */
const LZ4_LEGACY_MAX_CHUNK = 8 * 1024 * 1024 + Math.floor((8 * 1024 * 1024) / 255) + 16;

/**
 * Legacy lz4 (lz4 -l): the magic, then chunks of a 32-bit length and data, to the end of the
 * input as the kernel reads it. A length no legacy chunk can have (0, or over the bound) is
 * where something else begins, which the lz4 tool itself also treats as the end.
 */
export function* walkLz4Legacy(fail: Fail): Walker {
  const head = (yield { read: 4 })!;
  if (head.readUInt32LE(0) !== LZ4_LEGACY_MAGIC) throw fail('not a legacy lz4 stream');
  for (;;) {
    const b = yield { read: 4, eofOk: true };
    if (!b) return;
    const size = b.readUInt32LE(0);
    if (size === LZ4_LEGACY_MAGIC) continue; // another legacy stream, concatenated
    if (size === 0 || size > LZ4_LEGACY_MAX_CHUNK) return 'unread-last';
    yield { skip: size };
  }
}
