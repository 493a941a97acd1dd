// What `ramboot hooks ls|explain|new|check` do, apart from printing: a summary of each hook, every
// problem of a hook directory with its JSON path, and a new hook's skeleton that passes the check.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../assets.js';
import { inputError, usageError } from '../errors.js';
import { readAllHooks, parseHookJson, selectHooks, type Hook } from './hook.js';
import { checkHookJson, HOOK_FIELDS } from './hook-schema.js';

/** "2 modules, 1 binary, 1 stage script": what a hook adds, for `hooks ls`. */
export function summarizeHook(hook: Hook): string {
  const count = (n: number, what: string) => (n === 0 ? [] : [`${n} ${n === 1 ? what : what.replace(/y$/, 'ie')}${n === 1 ? '' : 's'}`]);
  const parts = [
    ...count(hook.modules.filter((m) => !hook.forceLoad.includes(m)).length, 'module'),
    ...count(hook.optionalModules.length, 'optional module'),
    ...count(hook.forceLoad.length, 'force-load'),
    ...count(hook.applets.length, 'applet'),
    ...count(hook.binaries.length, 'binary'),
    ...count(hook.files.length, 'file'),
    ...count(hook.stageScripts.length, 'stage script'),
  ];
  return parts.join(', ') || 'nothing';
}

export interface HookListing {
  hook: Hook;
  /** Applied by a build with these flags: false for an optional hook not turned on. */
  active: boolean;
}

export function listHooks(dirs: readonly string[], enable: readonly string[] = []): HookListing[] {
  const all = readAllHooks(dirs);
  const active = new Set(selectHooks(all, enable).map((h) => h.name));
  return all.map((hook) => ({ hook, active: active.has(hook.name) })).sort((a, b) => (a.hook.name < b.hook.name ? -1 : 1));
}

/** `hooks explain NAME`: every field of one hook, one item a line. */
export function renderHookExplanation(listing: HookListing): string {
  const { hook, active } = listing;
  const lines = [`${hook.name} (${hook.source === 'shipped' ? 'shipped' : `from ${hook.source}`}${hook.optional ? `, optional: ${active ? 'on' : 'off unless --hook ' + hook.name}` : ''})`, `  ${hook.description}`];
  const item = (title: string, values: readonly string[]) => {
    if (values.length > 0) lines.push(`${title}:`, ...values.map((v) => `  ${v}`));
  };
  if (hook.replaces) lines.push(`replaces the shipped hook ${hook.replaces}`);
  item('after', hook.after);
  item('modules (required)', hook.modules.filter((m) => !hook.forceLoad.includes(m)));
  item('force-loaded at boot', hook.forceLoad);
  item('modules packed when the kernel has them', hook.optionalModules);
  item('busybox applets', hook.applets);
  item('binaries from the root, with their libraries', hook.binaries);
  item('files from the root', hook.files.map((f) => `${f.path}${f.optional ? ' (optional)' : ''}`));
  item('stage scripts', hook.stageScripts.map((s) => `${s.when}: ${s.file}`));
  return `${lines.join('\n')}\n`;
}

/** `hooks check DIR`: every problem of every DIR/<name>/hook.json (or of DIR/hook.json), one line
 * each: `DIR/site/hook.json: $.stageScripts.after-fetch[0]: file check.sh not found`. */
export function checkHookDirectory(dir: string): { hooks: number; problems: string[] } {
  if (!existsSync(dir)) throw inputError(`hook directory ${dir} does not exist`, 'give a directory holding <name>/hook.json');
  const hookDirs = existsSync(join(dir, 'hook.json'))
    ? [dir]
    : readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'hook.json')))
        .map((e) => join(dir, e.name))
        .sort();
  const problems: string[] = [];
  for (const hookDir of hookDirs) {
    const file = join(hookDir, 'hook.json');
    const { raw, problem } = parseHookJson(readFileSync(file, 'utf8'));
    const found = problem ? [problem] : checkHookJson(raw, (name) => existsSync(join(hookDir, name)));
    problems.push(...found.map((p) => `${file}: ${p.path}: ${p.message}`));
  }
  // Names, `replaces` and `after` hold only across the set: checked once every file is valid.
  const parent = hookDirs[0] === dir ? join(dir, '..') : dir;
  // The shipped hooks/ itself would clash with its own names: it is checked as the shipped set.
  if (problems.length === 0 && hookDirs.length > 0 && resolve(parent) !== join(projectRoot(), 'hooks')) {
    try {
      selectHooks(readAllHooks([parent]), []);
    } catch (error) {
      problems.push(`${dir}: ${(error as Error).message}`);
    }
  }
  return { hooks: hookDirs.length, problems };
}

const SKELETON_SCRIPT = (name: string) => `#!/bin/sh
# Stage script of hook ${name}. /init runs it with busybox sh as its own process at the stage
# point named in hook.json ("stageScripts"), so it cannot change the boot's variables.
# Set for it: RAM_HOOK_POINT (e.g. after-net) and RAM_NEWROOT (/newroot, mounted from after-mount).
# It may: read /proc, /sys and /etc/ram.conf, run busybox applets listed in "applets" and the
# programs listed in "binaries", write under /run and, after mount, under "$RAM_NEWROOT".
# It may not: wait for input, run for long (the stage's time counts it) or leave processes
# behind. A non-zero exit stops the boot with "ramboot: error: hook: stage script ... failed".
echo "hook ${name}: reached $RAM_HOOK_POINT"
`;

/** hook.json is JSON (no comments): what each key means goes into NOTES.md next to it. */
function skeletonNotes(name: string): string {
  const keys = HOOK_FIELDS.map((f) => `- \`${f.key}\`${f.required ? ' (required)' : ''}: ${f.doc}`);
  return `# Hook ${name}\n\nBuild with \`ramboot build --hooks DIR\` (DIR holds this ${name}/ directory); check with\n\`ramboot hooks check DIR\`. The keys of hook.json:\n\n${keys.join('\n')}\n`;
}

/** `hooks new NAME --dir DIR`: DIR/NAME/hook.json, a stage script and NOTES.md. */
export function createHookSkeleton(dir: string, name: string): string[] {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) throw usageError(`"${name}" is not a hook name`, 'use lowercase letters, digits, - and _');
  const hookDir = join(dir, name);
  if (existsSync(hookDir)) throw usageError(`${hookDir} already exists`, 'choose another name or --dir');
  mkdirSync(hookDir, { recursive: true });
  const hookJson = {
    description: `What hook ${name} adds to the initrd, and why.`,
    after: ['ram-boot'],
    modules: [],
    optionalModules: [],
    applets: ['echo'],
    binaries: [],
    files: [],
    stageScripts: { 'after-net': ['hello.sh'] },
  };
  const files = { 'hook.json': `${JSON.stringify(hookJson, null, 2)}\n`, 'hello.sh': SKELETON_SCRIPT(name), 'NOTES.md': skeletonNotes(name) };
  for (const [file, text] of Object.entries(files)) writeFileSync(join(hookDir, file), text, { mode: file.endsWith('.sh') ? 0o755 : 0o644 });
  return Object.keys(files).map((f) => join(hookDir, f));
}
