import { Command } from '@commander-js/extra-typings';
import { inputError } from '../../errors.js';
import { hookDirsFromEnv } from '../../hooks/hook.js';
import { checkHookDirectory, createHookSkeleton, listHooks, renderHookExplanation, summarizeHook } from '../../hooks/hook-tools.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const dirsOf = (opts: { hooks?: string[] }) => [...hookDirsFromEnv(), ...(opts.hooks ?? [])];

const ls = new Command('ls')
  .description('list the hooks a build applies: name, state, where it comes from, what it adds')
  .option('--hooks <dir>', 'also the hooks in DIR (as build --hooks), repeatable', collect)
  .option('--hook <name>', 'an optional hook turned on (as build --hook), repeatable', collect)
  .action((opts) => {
    const rows = listHooks(dirsOf(opts), opts.hook).map(({ hook, active }) => [
      hook.name,
      active ? 'on' : 'off',
      hook.source === 'shipped' ? 'shipped' : hook.source,
      summarizeHook(hook),
    ]);
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['name', 'state', 'source'][i]!.length));
    const line = (r: string[]) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ');
    process.stdout.write(`${[line(['name', 'state', 'source', 'adds']), ...rows.map(line)].join('\n')}\n`);
  });

const explain = new Command('explain')
  .description('show everything one hook adds and why')
  .argument('<name>', 'the hook')
  .option('--hooks <dir>', 'also the hooks in DIR, repeatable', collect)
  .action((name, opts) => {
    const listing = listHooks(dirsOf(opts)).find((l) => l.hook.name === name);
    if (!listing) throw inputError(`there is no hook named ${name}`, 'ramboot hooks ls lists them (add --hooks DIR for your own)');
    process.stdout.write(renderHookExplanation(listing));
  });

const create = new Command('new')
  .description('write a commented skeleton hook (hook.json, a stage script, NOTES.md) that passes hooks check')
  .argument('<name>', 'the new hook\'s name')
  .option('--dir <dir>', 'where DIR/NAME/ goes (then build with --hooks DIR)', '.')
  .action((name, opts) => {
    for (const file of createHookSkeleton(opts.dir, name)) process.stdout.write(`${file}\n`);
  });

const check = new Command('check')
  .description('check every DIR/<name>/hook.json against the schema: one line per problem, with its JSON path')
  .argument('<dir>', 'a directory of hooks (or one hook\'s directory)')
  .action((dir) => {
    const { hooks, problems } = checkHookDirectory(dir);
    for (const problem of problems) process.stdout.write(`${problem}\n`);
    if (problems.length > 0) throw inputError(`${problems.length} problem${problems.length > 1 ? 's' : ''} in ${dir}`, 'see the lines above; README "Writing a hook" has the schema');
    process.stdout.write(`ok: ${hooks} hook${hooks === 1 ? '' : 's'} in ${dir}\n`);
  });

export const hooksCommand = new Command('hooks')
  .description('list, explain, create and check build-time hooks')
  .addCommand(ls)
  .addCommand(explain)
  .addCommand(create)
  .addCommand(check);
