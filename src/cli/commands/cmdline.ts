import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { explainCmdline, renderExplanation } from '../../cmdline/explain.js';
import { lintCmdline } from '../../cmdline/lint.js';
import { mergeCmdline } from '../../cmdline/merge.js';
import { NETBOOT_FORMATS, renderNetbootConfig } from '../../cmdline/netboot-config.js';
import { renderDefaultCmdline } from '../../cmdline/render-cmdline.js';
import { inputError, usageError } from '../../errors.js';

/** The words given on the command line, or an image set's cmdline.txt (--from DIR). */
async function cmdlineFrom(words: string[], from: string | undefined): Promise<string> {
  if (from) {
    const path = join(from, 'cmdline.txt');
    const text = await readFile(path, 'utf8').catch(() => {
      throw inputError(`cannot read ${path}`, 'give --from the directory ramboot build wrote');
    });
    return `${text.trim()} ${words.join(' ')}`.trim();
  }
  return words.join(' ');
}

const explain = new Command('explain')
  .description('show what each ramboot parameter of a command line is set to, and why')
  .argument('[words...]', 'the command line words')
  .option('--from <dir>', 'start from an image set\'s cmdline.txt')
  .option('--json', 'machine-readable output')
  .action(async (words, opts) => {
    const explanation = explainCmdline(await cmdlineFrom(words, opts.from));
    process.stdout.write(opts.json ? `${JSON.stringify(explanation, null, 2)}\n` : renderExplanation(explanation));
  });

const lint = new Command('lint')
  .description('check a command line against the parameter table (exit 2 on errors)')
  .argument('[words...]', 'the command line words')
  .option('--from <dir>', 'start from an image set\'s cmdline.txt')
  .option('--rooturl-elsewhere', 'the boot config adds rooturl= itself')
  .addOption(new Option('--target <format>', 'the boot loader the line goes through (what it adds counts)').choices(NETBOOT_FORMATS).default('line' as const))
  .option('--base-url <url>', 'where that loader fetches vmlinuz and initrd.img', '')
  .action(async (words, opts) => {
    const cmdline = await cmdlineFrom(words, opts.from);
    const findings = lintCmdline(cmdline, { rooturlAddedElsewhere: opts.rooturlElsewhere, target: opts.target, baseUrl: opts.baseUrl });
    for (const f of findings) process.stdout.write(`${f.level}: ${f.code}: ${f.message}\n`);
    const errors = findings.filter((f) => f.level === 'error').length;
    if (errors > 0) throw usageError(`the command line has ${errors} error${errors > 1 ? 's' : ''}`, 'see the lines above; ramboot cmdline explain shows every parameter');
    if (findings.length === 0) process.stdout.write('ok\n');
  });

const render = new Command('render')
  .description('render a command line or a netboot config (iPXE, PXELINUX, GRUB) for an image set')
  .option('--from <dir>', 'start from an image set\'s cmdline.txt (else the default one)')
  .option('--set <word...>', 'parameters to set, e.g. --set zram_size_pct=25 rooturl=http://...')
  .addOption(new Option('--format <format>', 'output format').choices(NETBOOT_FORMATS).default('line' as const))
  .option('--base-url <url>', 'where vmlinuz and initrd.img are served from', '')
  .action(async (opts) => {
    const base = opts.from ? await cmdlineFrom([], opts.from) : renderDefaultCmdline();
    const cmdline = mergeCmdline(base, opts.set ?? []);
    const errors = lintCmdline(cmdline, { rooturlAddedElsewhere: true, target: opts.format, baseUrl: opts.baseUrl }).filter((f) => f.level === 'error');
    if (errors.length > 0) throw usageError(errors[0]!.message, 'ramboot cmdline explain shows every parameter; ramboot cmdline lint --target shows every problem');
    process.stdout.write(renderNetbootConfig(opts.format, { cmdline, baseUrl: opts.baseUrl }));
  });

export const cmdlineCommand = new Command('cmdline')
  .description('explain, lint and render kernel command lines with the one parameter table')
  .addCommand(explain)
  .addCommand(lint)
  .addCommand(render);
