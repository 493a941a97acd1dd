// Kernel command line -> effective boot parameter values. The boot script's sh parser
// (initrd-scripts/lib/cmdline.sh) follows the same rules, and both are tested against
// test/fixtures/cmdline-cases.json:
//  - words are split on the bytes the kernel's isspace() calls blank (see KERNEL_BLANKS); a double
//    quote toggles quoting and is dropped (`name="a b"` and `"name=a b"` are both `a b`, as the
//    kernel's next_arg() in lib/cmdline.c reads them);
//  - `--` ends the kernel's words (what follows belongs to init);
//  - `-` and `_` are the same in a name; aliases map to their parameter; the last one wins;
//  - a bare flag name means y; y/yes/1/true and n/no/0/false normalize to y and n for flags
//    and for initrddebug.
import { BOOT_PARAMS, findParam, type BootParam } from './params.js';

export interface CmdlineWord {
  key: string;
  value: string | undefined;
}

/**
 * The bytes the kernel splits words on: its isspace() (include/linux/ctype.h) reads the _ctype
 * table of lib/ctype.c, which marks \t \n \v \f \r, space, and also 160 (0xA0, Latin-1's
 * no-break space) as _S. The command line is UTF-8 bytes to the kernel, so U+00A0 (C2 A0) ends a
 * word at its A0 byte and leaves a stray C2 on the word before; so does any character whose UTF-8
 * holds the byte A0 (à is C3 A0). Other Unicode blanks (U+2003 is E2 80 83, U+3000 is E3 80 80)
 * are not blanks at all and stay inside their word.
 */
export const KERNEL_BLANKS: ReadonlySet<number> = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]);
const QUOTE = 0x22;

/** Every word of a command line, `--` and what follows included, with the quotes dropped. A word
 * cut inside a UTF-8 sequence (see KERNEL_BLANKS) decodes with U+FFFD for its stray byte. */
export function splitKernelWords(cmdline: string): string[] {
  const bytes = Buffer.from(cmdline, 'utf8');
  const words: string[] = [];
  let current: number[] = [];
  let inWord = false;
  let quoted = false;
  for (const byte of bytes) {
    if (byte === QUOTE) {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && KERNEL_BLANKS.has(byte)) {
      if (inWord) words.push(Buffer.from(current).toString('utf8'));
      current = [];
      inWord = false;
    } else {
      current.push(byte);
      inWord = true;
    }
  }
  if (inWord) words.push(Buffer.from(current).toString('utf8'));
  return words;
}

export function toCmdlineWord(word: string): CmdlineWord {
  const eq = word.indexOf('=');
  return eq < 0 ? { key: word, value: undefined } : { key: word.slice(0, eq), value: word.slice(eq + 1) };
}

/** The kernel's words of a command line: those before `--`. */
export function splitCmdline(cmdline: string): CmdlineWord[] {
  const words = splitKernelWords(cmdline);
  const end = words.indexOf('--');
  return (end < 0 ? words : words.slice(0, end)).map(toCmdlineWord);
}

const YES = new Set(['y', 'yes', '1', 'true']);
const NO = new Set(['n', 'no', '0', 'false']);

/** A word's value as the boot script reads it: a bare flag is y, a bare other parameter empty. */
export function normalizeValue(param: BootParam, value: string | undefined): string {
  const yesNo = param.type === 'flag' || param.name === 'initrddebug';
  if (value === undefined) return yesNo ? 'y' : '';
  if (yesNo) {
    if (YES.has(value)) return 'y';
    if (NO.has(value)) return 'n';
  }
  return value;
}

export interface ParsedCmdline {
  /** Effective value of every parameter in the table (defaults applied). */
  values: Record<string, string>;
  /** Parameters that were given explicitly, by canonical name. */
  given: Set<string>;
  /** Words that are not in the table (kernel or other parameters). */
  unknown: CmdlineWord[];
}

export function parseCmdline(cmdline: string, defaults: Record<string, string> = {}): ParsedCmdline {
  const values: Record<string, string> = {};
  for (const p of BOOT_PARAMS) values[p.name] = defaults[p.name] ?? p.default;
  const given = new Set<string>();
  const unknown: CmdlineWord[] = [];
  for (const word of splitCmdline(cmdline)) {
    const param = findParam(word.key);
    if (!param) {
      unknown.push(word);
      continue;
    }
    values[param.name] = normalizeValue(param, word.value);
    given.add(param.name);
  }
  return { values, given, unknown };
}
