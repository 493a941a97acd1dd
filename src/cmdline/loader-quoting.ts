// Writing kernel words into each boot loader's config so the kernel receives them unchanged, or
// naming the word a loader cannot carry. Words are taken as the kernel reads them (parse.ts:
// quotes dropped), then written in the loader's syntax:
//  - line, PXELINUX: the kernel's own form; APPEND is passed on verbatim, but a config line
//    ends at a newline (and syslinux cuts a line at a carriage return);
//  - iPXE: no quoting. It splits a line on blanks and joins the pieces with one space, expands
//    ${...} anywhere, and treats `||`, `&&`, `;` and a piece starting with `#` as script syntax.
//    A quoted value survives only with single spaces in it;
//  - GRUB: its script language needs `$ ; & | { } < >`, blanks, quotes and a leading `#` quoted
//    (single quotes here); `linux` then rebuilds the kernel line from its arguments, wrapping one
//    with a space in double quotes ("foo=a b", which the kernel reads as foo="a b") and putting
//    a backslash before every \ ' " (grub-core/lib/cmdline.c) — which the kernel keeps. Only
//    spaces are quoted: a tab would split the word in the kernel.
import type { NetbootFormat } from './loader-line.js';
import { KERNEL_BLANKS, splitKernelWords } from './parse.js';

export interface LoaderArgs {
  /** The words as written in the loader's config. */
  config: string;
  /** The words as the loader hands them to the kernel. */
  kernel: string;
  /** Why a word cannot be carried: one line naming the word and the loader. */
  problems: string[];
}

/** The kernel's blank bytes in a word (a character whose UTF-8 holds 0xA0 counts, see parse.ts). */
function kernelBlanks(word: string): number[] {
  return [...Buffer.from(word, 'utf8')].filter((b) => KERNEL_BLANKS.has(b));
}
const LOADER_NAMES: Record<NetbootFormat, string> = { line: 'a one-line cmdline.txt', ipxe: 'iPXE', pxelinux: 'PXELINUX', grub: 'GRUB' };

/** The kernel's form of a word: a blank inside needs the value (or the word) in double quotes. */
export function kernelForm(word: string): string {
  if (kernelBlanks(word).length === 0) return word;
  const eq = word.indexOf('=');
  return eq < 0 ? `"${word}"` : `${word.slice(0, eq)}="${word.slice(eq + 1)}"`;
}

function ipxeProblem(written: string): string | undefined {
  if (/[\t\v\f]| {2}/.test(written)) return 'iPXE splits on blanks and rejoins with one space, so tabs and runs of spaces do not survive';
  if (written.includes('${')) return 'iPXE expands ${...} in a line';
  for (const piece of written.split(' ')) {
    if (/\|\||&&|;/.test(piece)) return 'iPXE reads ||, && and ; as command separators and has no quoting';
    if (piece.startsWith('#')) return 'iPXE reads a word starting with # as a comment';
  }
  return undefined;
}

function grubProblem(word: string): string | undefined {
  if (/[\\'"]/.test(word)) return 'GRUB passes \\ \' and " to the kernel with a backslash added, which the kernel keeps';
  if (kernelBlanks(word).some((b) => b !== 0x20)) return 'GRUB quotes only words with a space, so the kernel would split this one at its other blank';
  return undefined;
}

/** A word for GRUB's script: bare when it holds nothing the script reads, else single-quoted. */
function grubScriptWord(word: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word}'`;
}

export function renderLoaderArgs(format: NetbootFormat, cmdline: string): LoaderArgs {
  const config: string[] = [];
  const kernel: string[] = [];
  const problems: string[] = [];
  for (const word of splitKernelWords(cmdline)) {
    const written = kernelForm(word);
    let problem: string | undefined;
    if (/[\n\r]/.test(word)) problem = `a line break cannot be written in ${LOADER_NAMES[format]}`;
    else if (format === 'ipxe') problem = ipxeProblem(written);
    else if (format === 'grub') problem = grubProblem(word);
    if (problem) {
      problems.push(`${LOADER_NAMES[format]} cannot carry the word ${JSON.stringify(word)}: ${problem}`);
      continue;
    }
    config.push(format === 'grub' ? grubScriptWord(word) : written);
    kernel.push(format === 'grub' && word.includes(' ') ? `"${word}"` : written);
  }
  return { config: config.join(' '), kernel: kernel.join(' '), problems };
}
