// Reading a unified kernel image for `ramboot ls` and `ramboot extract`: the PE headers and
// section table (pe-file.ts) from the start of the file, each section's place in it checked
// against the file's size, and the small text sections (.cmdline, .osrel, .uname) read whole.
// The large ones (.linux, .initrd) are only located: the initrd is read from its range of the
// file as any initrd is (src/extract/read-initrd.ts), never copied into memory.
import { inputError } from '../errors.js';
import { openImageFile, readImageAt } from '../extract/open-image.js';
import { SECURITY_DIRECTORY, parsePe } from './pe-file.js';

/** Sections whose content is text, shown by `ls` (UKI spec: .cmdline, .osrel, .uname, .sbat). */
export const TEXT_SECTIONS = ['.cmdline', '.osrel', '.uname', '.sbat'];
/** Text past this is cut in a listing; real ones are a few hundred bytes. */
const TEXT_LIMIT = 64 * 1024;
/** Headers are read from this much of the file's start (SizeOfHeaders is 4 KiB or less in practice). */
const HEAD_BYTES = 64 * 1024;

export interface UkiSection {
  name: string;
  /** RVA (the address the loader maps it at, relative to the image base). */
  vma: number;
  /** File offset of its data. */
  offset: number;
  /** Bytes of data (the virtual size: the raw size is padded to FileAlignment). */
  size: number;
  /** TEXT_SECTIONS only: the bytes (up to TEXT_LIMIT). */
  text?: Buffer;
}

export interface UkiLayout {
  image: string;
  fileSize: number;
  /** COFF machine, e.g. 0x8664; machineName(machine) for people. */
  machine: number;
  /** Bytes of the Authenticode signature table, 0 when unsigned. */
  signatureSize: number;
  sections: UkiSection[];
  /** The .initrd section's range in the file. */
  initrd: { offset: number; length: number };
}

const MACHINES: Record<number, string> = { 0x8664: 'x86-64', 0xaa64: 'arm64', 0x14c: 'i386', 0x1c4: 'arm', 0x5064: 'riscv64' };

export const machineName = (machine: number) => MACHINES[machine] ?? `machine 0x${machine.toString(16)}`;

/** The file starts with "MZ": a PE image (a UKI, or something to refuse with one line). */
export async function isPeImage(path: string): Promise<boolean> {
  const { handle } = await openImageFile(path);
  try {
    const head = Buffer.alloc(2);
    return (await readImageAt(handle, path, head, 2, 0)) === 2 && head.toString('latin1') === 'MZ';
  } finally {
    await handle.close();
  }
}

export async function readUkiLayout(path: string): Promise<UkiLayout> {
  const { handle, size: fileSize } = await openImageFile(path);
  try {
    const head = Buffer.alloc(Math.min(HEAD_BYTES, fileSize));
    await readImageAt(handle, path, head, head.length, 0);
    const pe = parsePe(head, path);
    const sections: UkiSection[] = [];
    for (const s of pe.sections) {
      // A section with raw data must lie inside the file; its data is the virtual size when the
      // raw size is only padding (.initrd, .linux), and for the payload sections a virtual size
      // past the raw data means bytes are missing (a cut download or copy).
      const raw = s.sizeOfRawData;
      if (raw > 0 && s.pointerToRawData + raw > fileSize) {
        throw inputError(`${path}: section ${s.name} runs to byte ${s.pointerToRawData + raw}, past the end of the file (${fileSize} bytes): truncated`, 'copy or download the file again');
      }
      if (s.name.startsWith('.') && ['.linux', '.initrd', ...TEXT_SECTIONS].includes(s.name) && s.virtualSize > raw) {
        throw inputError(`${path}: section ${s.name} holds ${raw} of its ${s.virtualSize} bytes: truncated`, 'rebuild the UKI (ramboot build --uki)');
      }
      const size = s.virtualSize && s.virtualSize < raw ? s.virtualSize : raw;
      sections.push({ name: s.name, vma: s.virtualAddress, offset: s.pointerToRawData, size });
    }
    const initrd = sections.find((s) => s.name === '.initrd');
    const missing = ['.linux', '.initrd'].filter((n) => !sections.some((s) => s.name === n));
    if (missing.length > 0 || !initrd) {
      throw inputError(`${path} is a PE image without ${missing.join(' and ')} section${missing.length > 1 ? 's' : ''}: not a unified kernel image`, 'give a UKI (ramboot build --uki writes ramboot.efi), an initrd or a squashfs image');
    }
    for (const s of sections) {
      if (!TEXT_SECTIONS.includes(s.name)) continue;
      s.text = Buffer.alloc(Math.min(s.size, TEXT_LIMIT));
      await readImageAt(handle, path, s.text, s.text.length, s.offset);
    }
    const security = pe.dataDirectories[SECURITY_DIRECTORY];
    return { image: path, fileSize, machine: pe.machine, signatureSize: security?.size ?? 0, sections, initrd: { offset: initrd.offset, length: initrd.size } };
  } finally {
    await handle.close();
  }
}

/** Text sections as they are (NUL padding dropped): a systemd-stub reads them up to the first NUL. */
export function sectionText(section: UkiSection): Buffer {
  const text = section.text ?? Buffer.alloc(0);
  const nul = text.indexOf(0);
  return nul === -1 ? text : text.subarray(0, nul);
}
