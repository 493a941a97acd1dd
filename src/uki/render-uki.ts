// How `ramboot ls` shows a UKI before the entries of its initrd: one line for the image, one per
// PE section (name, size, address), with the text sections' content (escaped as names are, so a
// crafted .cmdline cannot drive the terminal), then the line that introduces the initrd.
import { escapeName, jsonName } from '../unpack/display-name.js';
import { machineName, sectionText, type UkiLayout } from './read-uki.js';

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

export function renderUkiHeader(uki: UkiLayout): string {
  const signed = uki.signatureSize > 0 ? `signed (${uki.signatureSize}-byte signature table)` : 'unsigned';
  const lines = [`${uki.image}: unified kernel image, ${machineName(uki.machine)}, ${uki.fileSize} bytes, ${signed}`];
  const width = Math.max(...uki.sections.map((s) => s.name.length));
  for (const s of uki.sections) {
    const head = `  ${escapeName(Buffer.from(s.name, 'latin1')).padEnd(width)} ${String(s.size).padStart(10)} at ${hex(s.vma)}`;
    if (!s.text) {
      lines.push(head);
      continue;
    }
    // One line per text line (os-release has several), under the section's line.
    const text = sectionText(s).toString('latin1').replace(/\n+$/, '');
    const [first = '', ...rest] = text.split('\n');
    lines.push(`${head}  ${escapeName(Buffer.from(first, 'latin1'))}`);
    for (const more of rest) lines.push(`${' '.repeat(head.length + 2)}${escapeName(Buffer.from(more, 'latin1'))}`);
  }
  lines.push(`.initrd: ${uki.initrd.length} bytes at byte ${uki.initrd.offset}`);
  return `${lines.join('\n')}\n`;
}

/** The fields of the JSON listing's head for a UKI (entries, segments and warnings follow). */
export function ukiJson(uki: UkiLayout): Record<string, unknown> {
  return {
    kind: 'uki',
    image: uki.image,
    fileSize: uki.fileSize,
    machine: machineName(uki.machine),
    signatureSize: uki.signatureSize,
    sections: uki.sections.map((s) => ({ name: s.name, vma: s.vma, offset: s.offset, size: s.size, ...(s.text ? jsonName('text', sectionText(s)) : {}) })),
    initrd: uki.initrd,
  };
}
