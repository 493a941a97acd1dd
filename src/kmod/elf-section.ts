// Find one named section in an ELF relocatable (a kernel module) by reading only the ELF header,
// the section header table, the section name table and the section itself — a few KiB of a
// module that may be MiBs. Layout per the System V gABI ("ELF Header", "Sections"): 32- and
// 64-bit, either byte order, and extended numbering (e_shnum/e_shstrndx escape to section 0).
import { inputError } from '../errors.js';

/** Reads `length` bytes at `offset`; returns fewer only at end of input. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

const SHN_XINDEX = 0xffff;

interface Layout {
  is64: boolean;
  le: boolean;
}

function u16(b: Buffer, at: number, l: Layout): number {
  return l.le ? b.readUInt16LE(at) : b.readUInt16BE(at);
}
function u32(b: Buffer, at: number, l: Layout): number {
  return l.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
}
/** A 64-bit offset or size as two 32-bit halves: no BigInt, which made this read a measurable
 * part of an initrd build (two per section header, ~60 headers per module). A module's offsets
 * and sizes fit easily; anything from 2^53 up is a corrupt header and reads as the largest safe
 * integer, so every bounds check after it fails. */
function addr(b: Buffer, at: number, l: Layout): number {
  if (!l.is64) return u32(b, at, l);
  const low = l.le ? b.readUInt32LE(at) : b.readUInt32BE(at + 4);
  const high = l.le ? b.readUInt32LE(at + 4) : b.readUInt32BE(at);
  return high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 0x1_0000_0000 + low;
}

interface SectionHeader {
  name: number;
  link: number;
  offset: number;
  size: number;
}

function sectionHeader(b: Buffer, at: number, l: Layout): SectionHeader {
  return l.is64
    ? { name: u32(b, at, l), link: u32(b, at + 40, l), offset: addr(b, at + 24, l), size: addr(b, at + 32, l) }
    : { name: u32(b, at, l), link: u32(b, at + 24, l), offset: u32(b, at + 16, l), size: u32(b, at + 20, l) };
}

async function readExact(read: ReadAt, offset: number, length: number, file: string, what: string): Promise<Buffer> {
  const bytes = await read(offset, length);
  if (bytes.length < length) {
    throw inputError(`${file}: truncated ELF file (${what} at byte ${offset}, ${length} bytes, ends early)`);
  }
  return bytes;
}

/** The bytes of section `name`, or undefined when the file has no such section. */
export async function readElfSection(read: ReadAt, name: string, file: string): Promise<Buffer | undefined> {
  const ident = await read(0, 64);
  if (ident.length < 16 || ident.readUInt32BE(0) !== 0x7f454c46) {
    throw inputError(`${file}: not an ELF file (no \\x7fELF magic)`, 'a kernel module must be an ELF object, possibly .xz/.zst/.gz compressed');
  }
  const cls = ident[4];
  const data = ident[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) {
    throw inputError(`${file}: unsupported ELF class ${cls} / data encoding ${data}`);
  }
  const l: Layout = { is64: cls === 2, le: data === 1 };
  const headerSize = l.is64 ? 64 : 52;
  if (ident.length < headerSize) throw inputError(`${file}: truncated ELF file (header is ${ident.length} bytes)`);
  const shoff = l.is64 ? addr(ident, 0x28, l) : u32(ident, 0x20, l);
  const shentsize = u16(ident, l.is64 ? 0x3a : 0x2e, l);
  let shnum = u16(ident, l.is64 ? 0x3c : 0x30, l);
  let shstrndx = u16(ident, l.is64 ? 0x3e : 0x32, l);
  const minEntry = l.is64 ? 64 : 40;
  if (shoff === 0 || shentsize < minEntry) throw inputError(`${file}: ELF file has no section header table`);

  if (shnum === 0 || shstrndx === SHN_XINDEX) {
    const first = sectionHeader(await readExact(read, shoff, shentsize, file, 'section header 0'), 0, l);
    if (shnum === 0) shnum = first.size;
    if (shstrndx === SHN_XINDEX) shstrndx = first.link;
  }
  if (shstrndx >= shnum) throw inputError(`${file}: ELF section name table index ${shstrndx} is out of range (${shnum} sections)`);

  const table = await readExact(read, shoff, shnum * shentsize, file, 'section header table');
  const headers = Array.from({ length: shnum }, (_, i) => sectionHeader(table, i * shentsize, l));
  const strtab = headers[shstrndx]!;
  const names = await readExact(read, strtab.offset, strtab.size, file, 'section name table');
  const wanted = Buffer.from(`${name}\0`);
  const found = headers.find((h) => h.name + wanted.length <= names.length && names.subarray(h.name, h.name + wanted.length).equals(wanted));
  if (!found) return undefined;
  return readExact(read, found.offset, found.size, file, `section ${name}`);
}

/** ReadAt over a buffer already in memory. */
export function bufferReader(buffer: Buffer): ReadAt {
  return async (offset, length) => buffer.subarray(Math.min(offset, buffer.length), Math.min(offset + length, buffer.length));
}
