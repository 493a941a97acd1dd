// Parameters -> one kernel command line, in table order, quoting values that hold blanks the
// way the kernel's parser reads them back (see parse.ts).
import { BOOT_PARAMS, findParam } from './params.js';
import { usageError } from '../errors.js';
import { kernelForm } from './loader-quoting.js';

// A value cannot hold a double quote (the kernel has no escape for one); a blank byte in it,
// 0xA0 inside a UTF-8 character included, needs the quotes (kernelForm).
function renderWord(name: string, value: string): string {
  return kernelForm(`${name}=${value.replaceAll('"', '')}`);
}

/** The default command line of an image set: every parameter with a cmdline.txt value, plus
 * the given overrides (e.g. rooturl). */
export function renderDefaultCmdline(overrides: Record<string, string> = {}): string {
  const values = new Map<string, string>();
  for (const p of BOOT_PARAMS) if (p.cmdlineTxt !== undefined) values.set(p.name, p.cmdlineTxt);
  for (const [name, value] of Object.entries(overrides)) {
    const param = findParam(name);
    if (!param) throw usageError(`unknown boot parameter "${name}"`, 'see the parameter table in the README');
    values.set(param.name, value);
  }
  const order = BOOT_PARAMS.map((p) => p.name);
  return [...values.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([name, value]) => renderWord(name, value))
    .join(' ');
}
