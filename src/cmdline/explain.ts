// What a command line means to the ram script: every parameter's effective value, where it came
// from, and what it does; words that are not ours are listed as the kernel's or init's.
import { handOffWords, INIT_ARG_ROOM, INIT_ENV_ROOM, type InitHandoff } from './init-handoff.js';
import { BOOT_PARAMS } from './params.js';
import { parseCmdline } from './parse.js';

export interface ExplainedParam {
  name: string;
  value: string;
  source: 'command line' | 'default';
  doc: string;
}

export interface Explanation {
  params: ExplainedParam[];
  /** Words the ram script ignores: kernel parameters, or arguments for init. */
  others: string[];
  /** Where the kernel puts every word: its own, a module's, init's arguments or environment. */
  handoff: InitHandoff;
}

export function explainCmdline(cmdline: string): Explanation {
  const parsed = parseCmdline(cmdline);
  return {
    params: BOOT_PARAMS.map((p) => ({
      name: p.name,
      value: parsed.values[p.name] ?? '',
      source: parsed.given.has(p.name) ? 'command line' : 'default',
      doc: p.doc,
    })),
    others: parsed.unknown.map((w) => (w.value === undefined ? w.key : `${w.key}=${w.value}`)),
    handoff: handOffWords(cmdline),
  };
}

export function renderExplanation(explanation: Explanation): string {
  const width = Math.max(...explanation.params.map((p) => p.name.length + p.value.length + 1));
  const lines = explanation.params.map((p) => {
    const setting = `${p.name}=${p.value === '' ? '(unset)' : p.value}`;
    return `${setting.padEnd(width + 8)} ${p.source === 'default' ? '[default] ' : ''}${p.doc}`;
  });
  if (explanation.others.length > 0) lines.push(`not ramboot parameters (kernel or init): ${explanation.others.join(' ')}`);
  const h = explanation.handoff;
  if (h.kernel.length > 0) lines.push(`kept by the kernel: ${h.kernel.join(' ')}`);
  if (h.module.length > 0) lines.push(`module parameters (left in /proc/cmdline, not passed to init): ${h.module.join(' ')}`);
  lines.push(`init's arguments (${h.args.length} of at most ${INIT_ARG_ROOM}): ${h.args.join(' ') || '(none)'}`);
  lines.push(`init's environment besides HOME and TERM (${h.env.length} of at most ${INIT_ENV_ROOM}): ${h.env.join(' ') || '(none)'}`);
  return `${lines.join('\n')}\n`;
}
