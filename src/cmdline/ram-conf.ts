// /etc/ram.conf: the file the builder writes into the initrd with everything resolved at build
// time. The boot script sources it before parsing /proc/cmdline, so it never re-discovers what
// the builder already knew. It holds:
//  - RAM_PARAM_MAP: `name=VAR` for every parameter and alias (the sh parser's lookup table);
//  - RAM_PARAM_FLAGS: names whose bare form means y (and whose y/n spellings normalize);
//  - RAM_<VAR> defaults for every parameter (the table's, or a baked value such as rootsha256);
//  - RAM_PARAM_RULES: each parameter's check, one `name VAR type [args]` row per line, which
//    lib/validate.sh applies at boot by the same rules as `ramboot cmdline lint`;
//  - RAM_<VAR>_VALUES: an enum's choices in table order (zram.sh's fallback compressors);
//  - RAM_STAGES: the boot stages in order (initrddebug= names them, hooks attach to them);
//  - facts about this initrd: RAM_KVER, RAM_FORCE_LOAD (modules loaded whatever the hardware), RAM_ROOTSIZE, RAM_VERSION,
//    and with the verity hook RAM_VERITY_* (src/rootfs/verity.ts).
import { BOOT_PARAMS, BOOT_STAGES, type BootParam } from './params.js';

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

/** Words of a rule row are split by the shell on blanks: a value with one could not be checked. */
function ruleWords(p: BootParam, words: readonly string[]): string {
  for (const w of words) {
    if (w === '' || /[\s'"\\$`*?[]/.test(w)) throw new Error(`parameter ${p.name}: value ${JSON.stringify(w)} cannot go into a ram.conf rule`);
  }
  return words.join(' ');
}

/** One RAM_PARAM_RULES row: `name VAR type [args]` (int: min max [extra words]; enum: choices). */
export function renderParamRule(p: BootParam): string {
  const head = `${p.name} ${p.shVar} ${p.type}`;
  if (p.type === 'int') {
    if (p.min === undefined || p.max === undefined) throw new Error(`parameter ${p.name}: an int needs min and max`);
    return `${head} ${ruleWords(p, [String(p.min), String(p.max), ...(p.values ?? [])])}`;
  }
  if (p.type === 'enum') return `${head} ${ruleWords(p, p.values ?? [])}`;
  return head;
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
    `RAM_PARAM_RULES=${shQuote(BOOT_PARAMS.map(renderParamRule).join('\n'))}`,
    `RAM_STAGES=${shQuote(BOOT_STAGES.join(' '))}`,
  ];
  for (const p of BOOT_PARAMS) {
    if (p.type === 'enum') lines.push(`RAM_${p.shVar}_VALUES=${shQuote(ruleWords(p, p.values ?? []))}`);
  }
  for (const p of BOOT_PARAMS) lines.push(`RAM_${p.shVar}=${shQuote(baked[p.name] ?? p.default)}`);
  // Code-point order (the facts are A-Z and _, where it agrees with localeCompare, whose first
  // call costs ~8 ms of ICU set-up per build).
  for (const [name, value] of Object.entries(facts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(`RAM_${name}=${shQuote(value)}`);
  }
  return `${lines.join('\n')}\n`;
}
