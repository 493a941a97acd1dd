// Where a bzip2 stream ends, for the segment after it. bzip2 has no length fields: blocks
// and the end-of-stream marker are bit-aligned. The kernel's bunzip2 (lib/decompress_bunzip2.c)
// reads the stream bit by bit, whole bytes at a time, up to the end marker's 48-bit magic
// 0x177245385090 and the 32-bit combined CRC after it, and reports `*pos = bd->inbufPos`, the
// byte after the last one it touched; init/initramfs.c goes on there (NULs skipped, a cpio
// only at a 4-byte aligned offset, a compressed stream anywhere).
//
// We find the same byte without decompressing: scan for the block magic 0x314159265359 and
// the end magic at every bit offset, fold each block's CRC into the stream CRC as bzip2 does
// (crc = rotl(crc, 1) ^ blockCRC), and take the first end magic whose CRC matches. The magics
// can occur by chance inside Huffman data (2^-48 per bit); a false end would need its CRC to
// match too (2^-32). A false block magic spoils the combined CRC: then no end matches and the
// stream takes the rest of the input, which is the old behaviour and what bzip2 -d reports.
// Scanning uses Buffer.indexOf on the whole bytes each shifted magic must contain, so it runs
// at memory speed, not bit by bit in JavaScript.
import type { PushResult } from './frame-walk.js';

const BLOCK_MAGIC = 0x314159265359;
const END_MAGIC = 0x177245385090;
/** Magic (48 bits) + CRC (32 bits), from the magic's first bit. */
const MARKER_BITS = 80;
/** Bytes a marker at any bit offset can touch: ceil((7 + 80) / 8). */
const MARKER_SPAN = 11;

interface Needle {
  magic: number;
  shift: number;
  /** Bytes 1..4 of the magic placed `shift` bits into its first byte: fully determined for any shift. */
  bytes: Buffer;
}

function needles(magic: number): Needle[] {
  const out: Needle[] = [];
  for (let shift = 0; shift < 8; shift++) {
    // The magic's 48 bits after `shift` bits of something else, as 7 bytes (56 bits).
    const value = BigInt(magic) << BigInt(8 - shift);
    const bytes = Buffer.alloc(7);
    for (let i = 0; i < 7; i++) bytes[i] = Number((value >> BigInt(8 * (6 - i))) & 0xffn);
    out.push({ magic, shift, bytes: bytes.subarray(1, 5) });
  }
  return out;
}

const NEEDLES = [...needles(BLOCK_MAGIC), ...needles(END_MAGIC)];

export class Bzip2EndFinder {
  done = false;
  /** Bytes of the stream seen so far. */
  consumed = 0;
  private window = Buffer.alloc(0);
  /** Stream offset of window[0]. */
  private windowStart = 0;
  /** Markers at bit positions below this were handled. */
  private nextBit = 0;
  private crc = 0;
  private blocks = 0;

  push(chunk: Buffer): PushResult {
    if (this.done) return { out: [], rest: chunk };
    const carried = this.window.length;
    const buf = carried ? Buffer.concat([this.window, chunk]) : chunk;
    const endBit = this.scan(buf);
    if (endBit === undefined) {
      // Keep the tail a marker could still start in; emit the chunk itself.
      const keep = Math.min(buf.length, MARKER_SPAN);
      this.windowStart += buf.length - keep;
      this.window = Buffer.from(buf.subarray(buf.length - keep));
      this.consumed += chunk.length;
      return { out: [chunk] };
    }
    this.done = true;
    const endByte = Math.ceil(endBit / 8) - this.windowStart; // index in buf
    const fromChunk = endByte - carried;
    this.consumed += fromChunk;
    return { out: [chunk.subarray(0, fromChunk)], rest: chunk.subarray(fromChunk) };
  }

  /** The input ended without a matching end marker: everything was the stream. */
  end(): PushResult {
    this.done = true;
    return { out: [], rest: Buffer.alloc(0) };
  }

  /** Stream bit offset just past the end marker's CRC, if it is in buf. */
  private scan(buf: Buffer): number | undefined {
    const found: Array<{ bit: number; magic: number }> = [];
    for (const n of NEEDLES) {
      for (let at = buf.indexOf(n.bytes, 1); at >= 0; at = buf.indexOf(n.bytes, at + 1)) {
        const start = at - 1; // the byte the magic starts in
        if (start + MARKER_SPAN > buf.length) break; // not all of it here yet: next push
        const bit = (this.windowStart + start) * 8 + n.shift;
        if (bit < this.nextBit) continue;
        if (readBits(buf, start * 8 + n.shift, 48) === n.magic) found.push({ bit, magic: n.magic });
      }
    }
    found.sort((x, y) => x.bit - y.bit);
    for (const { bit, magic } of found) {
      const crc = readBits(buf, (bit - this.windowStart * 8) + 48, 32);
      this.nextBit = bit + 1;
      if (magic === BLOCK_MAGIC) {
        this.crc = (((this.crc << 1) | (this.crc >>> 31)) ^ crc) >>> 0;
        this.blocks++;
      } else if (crc === this.crc) {
        return bit + MARKER_BITS;
      }
    }
    // Markers that start in the last MARKER_SPAN bytes were left for the next chunk.
    return undefined;
  }
}

/** `count` (<= 48) bits of buf from bit offset `bit`, most significant first, as bzip2 stores them. */
function readBits(buf: Buffer, bit: number, count: number): number {
  let value = 0;
  for (let i = 0; i < count; i++) {
    const at = bit + i;
    value = value * 2 + ((buf[at >> 3]! >> (7 - (at & 7))) & 1);
  }
  return value;
}
