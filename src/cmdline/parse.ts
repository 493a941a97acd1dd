// Kernel command line -> effective boot parameter values. The boot script's sh parser
// (initrd-scripts/lib/cmdline.sh) follows the same rules, and both are tested against
// test/fixtures/cmdline-cases.json:
//  - words are split on blanks; a double quote toggles quoting and is dropped
//    (`name="a b"` and `"name=a b"` are both `a b`, as the kernel's next_arg() reads them);
//  - `--` ends the kernel's words (what follows belongs to init);
//  - `-` and `_` are the same in a name; aliases map to their parameter; the last one wins;
//  - a bare flag name means y; y/yes/1/true and n/no/0/false normalize to y and n for flags
//    and for initrddebug.
import { BOOT_PARAMS, findParam, type BootParam } from './params.js';

export interface CmdlineWord {
  key: string;
  value: string | undefined;
}

export function splitCmdline(cmdline: string): CmdlineWord[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (const ch of cmdline) {
    if (ch === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  const result: CmdlineWord[] = [];
  for (const word of words) {
    if (word === '--') break;
    const eq = word.indexOf('=');
    result.push(eq < 0 ? { key: word, value: undefined } : { key: word.slice(0, eq), value: word.slice(eq + 1) });
  }
  return result;
}

const YES = new Set(['y', 'yes', '1', 'true']);
const NO = new Set(['n', 'no', '0', 'false']);

function normalizeValue(param: BootParam, value: string | undefined): string {
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
