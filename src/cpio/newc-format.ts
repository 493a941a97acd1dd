// The newc ("SVR4 portable, new ASCII") layout, shared by the writer and the reader. Every
// rule here is from the kernel's Documentation/driver-api/early-userspace/buffer-format.rst,
// which is what the kernel's initramfs unpacker (init/initramfs.c) actually implements:
//  - a header is the 6-byte magic then 13 fields of 8 ASCII hex digits: 110 bytes;
//  - the name follows, NUL included in c_namesize, and header+name is padded to a multiple
//    of 4 (the kernel's N_ALIGN); the data follows, padded to a multiple of 4;
//  - 070702 ("crc") is the same with c_chksum = 32-bit sum of the data bytes of regular files;
//  - the name TRAILER!!! ends an archive, and NULs may follow it before the next one.

export const MAGIC_NEWC = '070701';
export const MAGIC_CRC = '070702';
export const HEADER_SIZE = 110;
export const TRAILER_NAME = 'TRAILER!!!';
/** init/initramfs.c skips entries whose name (with NUL) or symlink target exceeds PATH_MAX. */
export const PATH_MAX = 4096;
export const MAX_U32 = 0xffffffff;

/** The 13 numeric fields in header order, named as in the kernel doc (for error messages). */
export const HEADER_FIELDS = [
  'c_ino',
  'c_mode',
  'c_uid',
  'c_gid',
  'c_nlink',
  'c_mtime',
  'c_filesize',
  'c_maj',
  'c_min',
  'c_rmaj',
  'c_rmin',
  'c_namesize',
  'c_chksum',
] as const;
export type HeaderField = (typeof HEADER_FIELDS)[number];
export type HeaderFields = Record<HeaderField, number>;

/** Bytes of NUL padding that bring `n` up to a multiple of 4. */
export function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Which header field (or the magic) byte `i` of a header belongs to, for truncation errors. */
export function fieldAt(i: number): string {
  return i < 6 ? 'the magic' : `field ${HEADER_FIELDS[Math.floor((i - 6) / 8)] ?? 'c_chksum'}`;
}

/**
 * Header, name, NUL and padding as one buffer. Hex is upper case as GNU cpio writes it (the
 * kernel's simple_strtoul takes either), so our bytes can be compared with GNU's.
 * Callers validate the fields first: each must be an integer in 0..0xFFFFFFFF.
 */
export function renderHeader(magic: string, fields: HeaderFields, name: Buffer): Buffer {
  let text = magic;
  for (const field of HEADER_FIELDS) text += fields[field].toString(16).toUpperCase().padStart(8, '0');
  const size = HEADER_SIZE + name.length + 1;
  const out = Buffer.alloc(size + pad4(size)); // zero-filled: the NUL and the padding
  out.write(text, 0, 'latin1');
  name.copy(out, HEADER_SIZE);
  return out;
}

/**
 * The 13 fields of a complete 110-byte header, or the name of the first field that is not
 * 8 hex digits. The magic is checked by the caller.
 */
export function parseHeaderFields(header: Buffer): HeaderFields | { bad: HeaderField; text: string } {
  const fields = {} as HeaderFields;
  for (let f = 0; f < HEADER_FIELDS.length; f++) {
    const start = 6 + f * 8;
    let value = 0;
    for (let i = start; i < start + 8; i++) {
      const digit = hexDigit(header[i]!);
      if (digit < 0) return { bad: HEADER_FIELDS[f]!, text: header.toString('latin1', start, start + 8) };
      value = value * 16 + digit;
    }
    fields[HEADER_FIELDS[f]!] = value;
  }
  return fields;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
  if (c >= 0x41 && c <= 0x46) return c - 0x37; // A-F
  if (c >= 0x61 && c <= 0x66) return c - 0x57; // a-f
  return -1;
}

/** The 070702 checksum step: `sum` plus every byte of `chunk`, modulo 2^32. */
export function addToChecksum(sum: number, chunk: Buffer): number {
  let s = 0;
  for (let i = 0; i < chunk.length; i++) s += chunk[i]!;
  return (sum + s) % 0x1_0000_0000;
}
