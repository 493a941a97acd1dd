// What a command line means to the ram script: every parameter's effective value, where it came
// from, and what it does; words that are not ours are listed as the kernel's or init's.
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
  };
}

export function renderExplanation(explanation: Explanation): string {
  const width = Math.max(...explanation.params.map((p) => p.name.length + p.value.length + 1));
  const lines = explanation.params.map((p) => {
    const setting = `${p.name}=${p.value === '' ? '(unset)' : p.value}`;
    return `${setting.padEnd(width + 8)} ${p.source === 'default' ? '[default] ' : ''}${p.doc}`;
  });
  if (explanation.others.length > 0) lines.push(`not ramboot parameters (kernel or init): ${explanation.others.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
