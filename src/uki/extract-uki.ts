// `ramboot extract ramboot.efi DIR`: a UKI's payload sections as the files of an image set
// (.linux as vmlinuz, .initrd as initrd.img, .cmdline as cmdline.txt, ...) and its initrd
// unpacked under DIR/initrd by the same safe writer as any initrd (src/extract/extract-image.ts).
// The stub's own sections (.text, .data, ...) are systemd-stub's code, not the set's: not written.
// DIR is new or empty (checked by the caller) and the names are fixed. Each file is written to a
// temporary name with O_EXCL and renamed when complete (src/util/atomic-file.ts), so a cut-off
// extraction leaves no half vmlinuz under its real name, and nothing there is ever followed.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeAtomically } from '../util/atomic-file.js';
import { sectionText, type UkiLayout, type UkiSection } from './read-uki.js';

/** The file each known UKI section becomes (UKI spec's section names; the set's file names). */
export const SECTION_FILES: Record<string, string> = {
  '.linux': 'vmlinuz',
  '.initrd': 'initrd.img',
  '.cmdline': 'cmdline.txt',
  '.osrel': 'os-release',
  '.uname': 'uname.txt',
  '.sbat': 'sbat.csv',
  '.splash': 'splash.bmp',
  '.dtb': 'devicetree.dtb',
  '.pcrsig': 'pcrsig.json',
  '.pcrpkey': 'pcrpkey.pem',
};

/** Where the initrd's tree goes under the target directory. */
export const INITRD_DIR = 'initrd';

/** Write the payload sections into `dir` and make `dir/initrd`; returns the file names written. */
export async function writeUkiSections(uki: UkiLayout, dir: string): Promise<string[]> {
  const written: string[] = [];
  for (const section of uki.sections) {
    const file = SECTION_FILES[section.name];
    if (!file) continue;
    await writeAtomically(join(dir, file), (tmp) => writeSection(uki.image, section, tmp), { flag: 'DIR' });
    written.push(file);
  }
  await mkdir(join(dir, INITRD_DIR));
  return written;
}

async function writeSection(image: string, section: UkiSection, dest: string): Promise<void> {
  // Text sections as the stub reads them: up to the first NUL (ukify pads with none, objcopy may).
  if (section.text && section.text.length === section.size) {
    await writeFile(dest, sectionText(section), { flag: 'wx' });
    return;
  }
  if (section.size === 0) {
    await writeFile(dest, '', { flag: 'wx' });
    return;
  }
  await pipeline(createReadStream(image, { start: section.offset, end: section.offset + section.size - 1 }), createWriteStream(dest, { flags: 'wx' }));
}
