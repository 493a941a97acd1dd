// The .modinfo section of a module: NUL-separated `key=value` strings written by MODULE_*()
// macros and modpost (include/linux/module.h, scripts/mod/modpost.c). Keys can repeat (alias,
// firmware, softdep); padding between strings is runs of NULs.
import { readElfSection, type ReadAt } from './elf-section.js';
import { inputError } from '../errors.js';
import type { ModuleInfo } from './types.js';

/** What .modinfo says: the module facts of ModuleInfo, with the name as written (`name=` is
 * absent in old kernels; the file name is authoritative) and no path. */
export type Modinfo = Omit<ModuleInfo, 'name' | 'path'> & { name: string | undefined };

/** `lzo-rle` -> `lzo_rle`: the kernel and kmod treat '-' and '_' in module names alike. */
export const canonicalModuleName = (name: string): string => name.replaceAll('-', '_');

/** Every key=value pair in order; strings without '=' are skipped. */
export function parseModinfoPairs(section: Buffer): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const text of section.toString('utf8').split('\0')) {
    const eq = text.indexOf('=');
    if (eq > 0) pairs.push([text.slice(0, eq), text.slice(eq + 1)]);
  }
  return pairs;
}

/** `pre: a b post: c` -> pre [a, b], post [c]. Words before any `pre:`/`post:` are ignored,
 * as kmod's softdep parser ignores them. Names stay as written: they may be aliases. */
export function parseSoftdep(value: string, into: { pre: string[]; post: string[] }): void {
  let mode: 'pre' | 'post' | undefined;
  for (const word of value.split(/\s+/)) {
    if (word === 'pre:') mode = 'pre';
    else if (word === 'post:') mode = 'post';
    else if (word && mode) into[mode].push(word);
  }
}

export function parseModinfo(section: Buffer): Modinfo {
  const info: Modinfo = { name: undefined, depends: [], softdepPre: [], softdepPost: [], weakdeps: [], aliases: [], firmware: [] };
  const soft = { pre: info.softdepPre, post: info.softdepPost };
  for (const [key, value] of parseModinfoPairs(section)) {
    switch (key) {
      case 'name':
        info.name = value;
        break;
      case 'depends':
        for (const dep of value.split(',')) if (dep) info.depends.push(canonicalModuleName(dep));
        break;
      case 'alias':
        info.aliases.push(value);
        break;
      case 'firmware':
        info.firmware.push(value);
        break;
      case 'softdep':
        parseSoftdep(value, soft);
        break;
      case 'weakdep':
        for (const dep of value.split(/\s+/)) if (dep) info.weakdeps.push(dep);
        break;
    }
  }
  return info;
}

/** The parsed .modinfo of an ELF module given as a reader; `file` names it in errors. */
export async function readModinfo(read: ReadAt, file: string): Promise<Modinfo> {
  const section = await readElfSection(read, '.modinfo', file);
  if (!section) throw inputError(`${file}: ELF file has no .modinfo section, so it is not a kernel module`);
  return parseModinfo(section);
}
