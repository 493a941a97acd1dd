// A unified kernel image (UKI) is systemd-stub with the kernel, initrd, command line, os-release
// and kernel version added as PE sections (systemd's "Unified Kernel Image" spec,
// uapi-group.org/specifications/specs/unified_kernel_image). Debian 12 has no ukify, so the
// layout is done here: the stub's own sections stay at their addresses; the new ones go after the
// stub's last section, each at a page-aligned RVA (a multiple of the stub's SectionAlignment, as
// the loader requires) with its raw data padded to FileAlignment, in ukify's order with .linux
// last. The PE timestamp is SOURCE_DATE_EPOCH (or 0), so the same inputs give the same bytes.
import { inputError } from '../errors.js';
import { DEBUG_DIRECTORY, OPT, SECTION_HEADER_SIZE, SECURITY_DIRECTORY, alignUp, parsePe, peChecksum, type PeFile } from './pe-file.js';

export interface UkiParts {
  linux: Buffer;
  initrd: Buffer;
  cmdline: string;
  osrel: string;
  uname: string;
}

/** IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ: what ukify and objcopy give these sections. */
const DATA_READONLY = 0x40000040;
/** RVAs of the added sections are page aligned: the stub hands .linux and .initrd to the kernel
 * by address, and a page boundary is what the UEFI loader and the kernel's EFI entry expect. */
const PAGE = 4096;
/** EFI application (IMAGE_SUBSYSTEM_EFI_APPLICATION). */
const EFI_APPLICATION = 10;

/** The sections in the order ukify writes them (.linux last, it is the largest). */
export function ukiSections(parts: UkiParts): { name: string; data: Buffer }[] {
  return [
    { name: '.osrel', data: Buffer.from(parts.osrel) },
    { name: '.cmdline', data: Buffer.from(parts.cmdline) },
    { name: '.uname', data: Buffer.from(parts.uname) },
    { name: '.initrd', data: parts.initrd },
    { name: '.linux', data: parts.linux },
  ];
}

export function assembleUki(stub: Buffer, parts: UkiParts, opts: { timestamp: number; stubName?: string }): Buffer {
  const what = opts.stubName ?? 'the UKI stub';
  const pe = parsePe(stub, what);
  checkStub(pe, what);
  const added = ukiSections(parts);

  // Room for the added section headers: SizeOfHeaders may grow, but the headers are mapped at
  // RVA 0 and must end before the first section's RVA.
  const tableEnd = pe.sectionTableOffset + (pe.sections.length + added.length) * SECTION_HEADER_SIZE;
  const sizeOfHeaders = Math.max(pe.sizeOfHeaders, alignUp(tableEnd, pe.fileAlignment));
  const firstRva = Math.min(...pe.sections.map((s) => s.virtualAddress));
  if (sizeOfHeaders > firstRva) throw inputError(`${what} has no room for ${added.length} more section headers before its first section`, 'use systemd-boot-efi\'s linuxx64.efi.stub');
  if (sizeOfHeaders !== pe.sizeOfHeaders && pe.dataDirectories[DEBUG_DIRECTORY]?.size) {
    throw inputError(`${what} has a debug directory and its headers would have to grow`, 'use a stripped stub (Debian\'s systemd-boot-efi)');
  }
  // The stub's section data moves by `shift` in the file (never in memory); anything after its
  // last section (a COFF symbol table, an old signature) is dropped.
  const shift = sizeOfHeaders - pe.sizeOfHeaders;
  const rawEnd = Math.max(pe.sizeOfHeaders, ...pe.sections.map((s) => (s.sizeOfRawData ? s.pointerToRawData + s.sizeOfRawData : 0)));
  let fileEnd = alignUp(rawEnd + shift, pe.fileAlignment);
  let rva = alignUp(Math.max(...pe.sections.map((s) => s.virtualAddress + (s.virtualSize || s.sizeOfRawData))), Math.max(PAGE, pe.sectionAlignment));
  const layout = added.map((s) => {
    const at = { ...s, rva, fileOffset: fileEnd, rawSize: alignUp(s.data.length, pe.fileAlignment) };
    rva = alignUp(rva + s.data.length, Math.max(PAGE, pe.sectionAlignment));
    fileEnd += at.rawSize;
    return at;
  });
  const last = layout[layout.length - 1]!;

  const out = Buffer.alloc(fileEnd);
  stub.copy(out, 0, 0, pe.sectionTableOffset + pe.sections.length * SECTION_HEADER_SIZE);
  stub.copy(out, pe.sizeOfHeaders + shift, pe.sizeOfHeaders, rawEnd);
  for (const s of pe.sections) {
    if (s.sizeOfRawData) out.writeUInt32LE(s.pointerToRawData + shift, s.headerOffset + 20);
  }
  layout.forEach((s, i) => {
    const h = pe.sectionTableOffset + (pe.sections.length + i) * SECTION_HEADER_SIZE;
    out.write(s.name.padEnd(8, '\0'), h, 8, 'latin1');
    out.writeUInt32LE(s.data.length, h + 8);
    out.writeUInt32LE(s.rva, h + 12);
    out.writeUInt32LE(s.rawSize, h + 16);
    out.writeUInt32LE(s.fileOffset, h + 20);
    out.writeUInt32LE(DATA_READONLY, h + 36);
    s.data.copy(out, s.fileOffset);
  });

  const coff = pe.coffOffset;
  out.writeUInt16LE(pe.sections.length + layout.length, coff + 2);
  out.writeUInt32LE(opts.timestamp >>> 0, coff + 4);
  out.writeUInt32LE(0, coff + 8); // PointerToSymbolTable: the symbol table was dropped
  out.writeUInt32LE(0, coff + 12); // NumberOfSymbols
  const opt = pe.optionalOffset;
  out.writeUInt32LE(pe.sizeOfInitializedData + layout.reduce((n, s) => n + s.rawSize, 0), opt + OPT.sizeOfInitializedData);
  out.writeUInt32LE(alignUp(last.rva + last.data.length, pe.sectionAlignment), opt + OPT.sizeOfImage);
  out.writeUInt32LE(sizeOfHeaders, opt + OPT.sizeOfHeaders);
  // A signature of the stub does not cover the UKI; sbsign adds the UKI's own.
  if (pe.dataDirectories.length > SECURITY_DIRECTORY) out.fill(0, pe.dataDirectoryOffset + SECURITY_DIRECTORY * 8, pe.dataDirectoryOffset + SECURITY_DIRECTORY * 8 + 8);
  out.writeUInt32LE(0, opt + OPT.checkSum);
  out.writeUInt32LE(peChecksum(out, opt + OPT.checkSum), opt + OPT.checkSum);
  return out;
}

function checkStub(pe: PeFile, what: string): void {
  const hint = 'use systemd-boot-efi\'s /usr/lib/systemd/boot/efi/linuxx64.efi.stub (or --uki-stub FILE)';
  if (pe.subsystem !== EFI_APPLICATION) throw inputError(`${what} is not an EFI application (PE subsystem ${pe.subsystem})`, hint);
  if (pe.sections.length === 0) throw inputError(`${what} has no sections`, hint);
  if (pe.sectionAlignment % 512 !== 0 || pe.fileAlignment % 512 !== 0 || PAGE % pe.sectionAlignment !== 0) {
    throw inputError(`${what} has alignments this layout does not handle (section 0x${pe.sectionAlignment.toString(16)}, file 0x${pe.fileAlignment.toString(16)})`, hint);
  }
  const taken = pe.sections.find((s) => ['.linux', '.initrd', '.cmdline', '.osrel', '.uname'].includes(s.name));
  if (taken) throw inputError(`${what} already has a ${taken.name} section (is it a UKI already?)`, hint);
}
