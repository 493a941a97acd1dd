// /etc/ram.conf: the file the builder writes into the initrd with everything resolved at build
// time. The boot script sources it before parsing /proc/cmdline, so it never re-discovers what
// the builder already knew. It holds:
//  - RAM_PARAM_MAP: `name=VAR` for every parameter and alias (the sh parser's lookup table);
//  - RAM_PARAM_FLAGS: names whose bare form means y (and whose y/n spellings normalize);
//  - RAM_<VAR> defaults for every parameter (the table's, or a baked value such as rootsha256);
//  - facts about this initrd: RAM_KVER, RAM_FORCE_LOAD (modules loaded whatever the hardware), RAM_ROOTSIZE, RAM_VERSION.
import { BOOT_PARAMS } from './params.js';

/** Quote for POSIX sh: single quotes, with embedded ones closed and escaped. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface RamConfFacts {
  /** Baked defaults by parameter name, e.g. { rootsha256: '…' }. */
  baked?: Record<string, string>;
  /** Further RAM_* facts, by variable name without the prefix, e.g. { KVER: '6.1.0-28-cloud-amd64' }. */
  facts?: Record<string, string>;
}

export function renderRamConf({ baked = {}, facts = {} }: RamConfFacts = {}): string {
  const map: string[] = [];
  const flags: string[] = [];
  for (const p of BOOT_PARAMS) {
    for (const name of [p.name, ...(p.aliases ?? [])]) map.push(`${name}=${p.shVar}`);
    if (p.type === 'flag' || p.name === 'initrddebug') flags.push(p.name);
  }
  const lines = [
    '# Written by ramboot at build time; sourced by /init before it reads /proc/cmdline.',
    `RAM_PARAM_MAP=${shQuote(map.join(' '))}`,
    `RAM_PARAM_FLAGS=${shQuote(flags.join(' '))}`,
  ];
  for (const p of BOOT_PARAMS) lines.push(`RAM_${p.shVar}=${shQuote(baked[p.name] ?? p.default)}`);
  for (const [name, value] of Object.entries(facts).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`RAM_${name}=${shQuote(value)}`);
  }
  return `${lines.join('\n')}\n`;
}
