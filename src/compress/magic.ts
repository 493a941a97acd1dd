// Telling a segment's compression by its first bytes, never by a file name: an initrd is a
// concatenation of segments (early microcode cpio, then a compressed main cpio) and only the
// magic says which is which.
export type SegmentFormat = 'cpio' | 'zstd' | 'gzip' | 'xz' | 'lz4-legacy' | 'bzip2' | 'lzma' | 'lzo' | 'unknown';

const MAGICS: ReadonlyArray<[SegmentFormat, readonly number[]]> = [
  ['cpio', [0x30, 0x37, 0x30, 0x37, 0x30]], // "07070" (newc 070701, crc 070702)
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['lz4-legacy', [0x02, 0x21, 0x4c, 0x18]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
  ['lzma', [0x5d, 0x00, 0x00]],
];

export function detectFormat(head: Uint8Array): SegmentFormat {
  for (const [format, magic] of MAGICS) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return format;
  }
  return 'unknown';
}
