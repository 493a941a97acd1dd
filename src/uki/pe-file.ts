// A small reader of PE/COFF images (the format of every UEFI executable), enough to lay out a
// unified kernel image around systemd-stub and to check the result: the DOS stub's e_lfanew, the
// COFF file header, the optional header's alignment and size fields, the data directories and the
// section table. Offsets are those of the PE/COFF specification ("PE Format", Microsoft Learn):
// PE32+ (magic 0x20b) for x86-64 and arm64 EFI, PE32 (0x10b) read too.
import { inputError } from '../errors.js';

export const PE32_PLUS = 0x20b;
export const PE32 = 0x10b;
/** IMAGE_DIRECTORY_ENTRY_SECURITY: the Authenticode certificate table (a FILE offset). */
export const SECURITY_DIRECTORY = 4;
export const DEBUG_DIRECTORY = 6;
export const SECTION_HEADER_SIZE = 40;

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
  /** Where this section's header sits in the file. */
  headerOffset: number;
}

export interface PeFile {
  machine: number;
  timeDateStamp: number;
  /** File offset of the COFF header (just after "PE\0\0"). */
  coffOffset: number;
  optionalOffset: number;
  magic: number;
  sectionAlignment: number;
  fileAlignment: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  checkSum: number;
  subsystem: number;
  sizeOfInitializedData: number;
  /** File offset of the first section header. */
  sectionTableOffset: number;
  dataDirectories: { rva: number; size: number }[];
  /** File offset of the first data directory entry. */
  dataDirectoryOffset: number;
  sections: PeSection[];
}

/** The file offsets of the optional header fields this project reads or rewrites. */
export const OPT = { sizeOfInitializedData: 8, sectionAlignment: 32, fileAlignment: 36, sizeOfImage: 56, sizeOfHeaders: 60, checkSum: 64, subsystem: 68 } as const;

export function parsePe(buf: Buffer, what = 'PE file'): PeFile {
  const bad = (why: string) => inputError(`${what} is not a PE image: ${why}`, 'give an EFI executable, e.g. /usr/lib/systemd/boot/efi/linuxx64.efi.stub');
  if (buf.length < 0x40 || buf.toString('latin1', 0, 2) !== 'MZ') throw bad('no MZ header');
  const peOffset = buf.readUInt32LE(0x3c);
  if (peOffset + 24 > buf.length || buf.toString('latin1', peOffset, peOffset + 4) !== 'PE\0\0') throw bad('no PE signature');
  const coff = peOffset + 4;
  const numberOfSections = buf.readUInt16LE(coff + 2);
  const sizeOfOptionalHeader = buf.readUInt16LE(coff + 16);
  const opt = coff + 20;
  const sectionTableOffset = opt + sizeOfOptionalHeader;
  if (sectionTableOffset + numberOfSections * SECTION_HEADER_SIZE > buf.length) throw bad('section table past the end of the file');
  const magic = buf.readUInt16LE(opt);
  if (magic !== PE32_PLUS && magic !== PE32) throw bad(`optional header magic 0x${magic.toString(16)}`);
  const dirCountOffset = magic === PE32_PLUS ? 108 : 92;
  const dataDirectoryOffset = opt + dirCountOffset + 4;
  const dirCount = buf.readUInt32LE(opt + dirCountOffset);
  if (dataDirectoryOffset + dirCount * 8 > sectionTableOffset) throw bad('data directories overrun the optional header');
  const dataDirectories = Array.from({ length: dirCount }, (_, i) => ({
    rva: buf.readUInt32LE(dataDirectoryOffset + i * 8),
    size: buf.readUInt32LE(dataDirectoryOffset + i * 8 + 4),
  }));
  const sections: PeSection[] = [];
  for (let i = 0; i < numberOfSections; i++) {
    const h = sectionTableOffset + i * SECTION_HEADER_SIZE;
    const rawName = buf.subarray(h, h + 8);
    const end = rawName.indexOf(0);
    sections.push({
      name: rawName.toString('latin1', 0, end === -1 ? 8 : end),
      virtualSize: buf.readUInt32LE(h + 8),
      virtualAddress: buf.readUInt32LE(h + 12),
      sizeOfRawData: buf.readUInt32LE(h + 16),
      pointerToRawData: buf.readUInt32LE(h + 20),
      characteristics: buf.readUInt32LE(h + 36),
      headerOffset: h,
    });
  }
  return {
    machine: buf.readUInt16LE(coff),
    timeDateStamp: buf.readUInt32LE(coff + 4),
    coffOffset: coff,
    optionalOffset: opt,
    magic,
    sectionAlignment: buf.readUInt32LE(opt + OPT.sectionAlignment),
    fileAlignment: buf.readUInt32LE(opt + OPT.fileAlignment),
    sizeOfImage: buf.readUInt32LE(opt + OPT.sizeOfImage),
    sizeOfHeaders: buf.readUInt32LE(opt + OPT.sizeOfHeaders),
    checkSum: buf.readUInt32LE(opt + OPT.checkSum),
    subsystem: buf.readUInt16LE(opt + OPT.subsystem),
    sizeOfInitializedData: buf.readUInt32LE(opt + OPT.sizeOfInitializedData),
    sectionTableOffset,
    dataDirectories,
    dataDirectoryOffset,
    sections,
  };
}

/** The bytes a section holds in the file (its virtual size, or its raw size when smaller). */
export function sectionData(buf: Buffer, section: PeSection): Buffer {
  const size = Math.min(section.virtualSize || section.sizeOfRawData, section.sizeOfRawData);
  return buf.subarray(section.pointerToRawData, section.pointerToRawData + size);
}

/** The PE checksum (as IMAGE_NT_HEADERS.OptionalHeader.CheckSum, the algorithm of imagehlp's
 * CheckSumMappedFile): 16-bit one's-complement-style sum of the file with the field itself read
 * as zero, folded, plus the file length. */
export function peChecksum(buf: Buffer, checkSumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) {
    if (i === checkSumOffset || i === checkSumOffset + 2) continue;
    sum += i + 1 < buf.length ? buf.readUInt16LE(i) : buf[i]!;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + buf.length) >>> 0;
}

export const alignUp = (value: number, alignment: number) => Math.ceil(value / alignment) * alignment;
