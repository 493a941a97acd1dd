// One command line from a base (an image set's cmdline.txt, or the table's default line) and the
// words given over it (`render --set`), read exactly as the parsers read them:
//  - a parameter of the table takes its last value, normalized as the boot script will see it
//    (a bare flag is y, a bare `rooturl` is empty), and is written in table order;
//  - every other word is kept as given, in order, repeats included: the kernel and init act on
//    each one (`console=tty0 console=ttyS0` gives two consoles);
//  - words after `--` in any part stay init's arguments, after one `--` at the end.
import { BOOT_PARAMS, findParam } from './params.js';
import { kernelForm } from './loader-quoting.js';
import { normalizeValue, splitKernelWords, toCmdlineWord } from './parse.js';

export function mergeCmdline(base: string, overrides: readonly string[] = []): string {
  const ours = new Map<string, string>();
  const others: string[] = [];
  const initArgs: string[] = [];
  for (const part of [base, ...overrides]) {
    const words = splitKernelWords(part);
    const end = words.indexOf('--');
    for (const word of end < 0 ? words : words.slice(0, end)) {
      const { key, value } = toCmdlineWord(word);
      const param = findParam(key);
      if (param) ours.set(param.name, normalizeValue(param, value));
      else others.push(word);
    }
    if (end >= 0) initArgs.push(...words.slice(end + 1));
  }
  const table = BOOT_PARAMS.filter((p) => ours.has(p.name)).map((p) => kernelForm(`${p.name}=${ours.get(p.name)}`));
  const words = [...table, ...others.map(kernelForm)];
  if (initArgs.length > 0) words.push('--', ...initArgs.map(kernelForm));
  return words.join(' ');
}
