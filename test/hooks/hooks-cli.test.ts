// `ramboot hooks new|check|ls|explain`: a new skeleton passes check, shellcheck and a build's
// parse; check prints one line per problem with its JSON path; the README's schema is current.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readShippedHooks } from '../../src/hooks/hook.ts';
import { updateReadmeHookSchema } from '../../src/hooks/hook-schema.ts';
import { checkHookDirectory, createHookSkeleton } from '../../src/hooks/hook-tools.ts';
import { skipWithout } from '../support/require-tool.ts';

const ramboot = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });

test('hooks new writes a skeleton that passes hooks check, shellcheck, and is applied by a build', { skip: skipWithout('shellcheck', ['--version'], 'apt-get install shellcheck') }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-new-'));
  t.after(() => rmSync(dir, { recursive: true }));
  const files = createHookSkeleton(dir, 'site');
  assert.deepEqual(files, ['hook.json', 'hello.sh', 'NOTES.md'].map((f) => join(dir, 'site', f)));
  assert.deepEqual(checkHookDirectory(dir), { hooks: 1, problems: [] });
  execFileSync('shellcheck', ['-s', 'sh', join(dir, 'site', 'hello.sh')]);
  const hook = readShippedHooks([dir]).find((h) => h.name === 'site');
  assert.deepEqual(hook?.stageScripts.map((s) => `${s.when}/${s.file}`), ['after-net/hello.sh']);
  assert.throws(() => createHookSkeleton(dir, 'site'), /already exists/);
  assert.throws(() => createHookSkeleton(dir, 'Bad Name'), /is not a hook name/);
});

test('hooks check: every problem one line with its JSON path, exit 3; ok otherwise', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-check-'));
  t.after(() => rmSync(dir, { recursive: true }));
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'site', 'hook.json'), JSON.stringify({ stageScripts: { 'after-fetch': ['check.sh'], 'after-switch': ['x.sh'] }, binaries: ['usr/bin/x'], files: [3] }));
  const run = ramboot('hooks', 'check', dir);
  const file = join(dir, 'site', 'hook.json');
  assert.equal(run.status, 3);
  const lines = run.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 4), [
    `${file}: $.description: "description" is required`,
    `${file}: $.binaries[0]: "usr/bin/x" is not an absolute path of the root`,
    `${file}: $.files[0]: each of "files" is a path or { "path", "optional" }`,
    `${file}: $.stageScripts.after-fetch[0]: file check.sh not found`,
  ]);
  assert.ok(lines[4]!.startsWith(`${file}: $.stageScripts.after-switch: "stageScripts" names unknown stage point "after-switch" (known: before-modules,`), lines[4]);
  assert.equal(lines.length, 5);
  assert.match(run.stderr, /^ramboot: error: 5 problems in .* \(hint: .*\)\n$/);
  writeFileSync(join(dir, 'site', 'hook.json'), '{"description": "d",}');
  assert.match(ramboot('hooks', 'check', dir).stdout, /site\/hook.json: \$: is not valid JSON/);
});

test('hooks ls and explain show where each hook comes from and what it adds', () => {
  const ls = ramboot('hooks', 'ls');
  assert.equal(ls.status, 0);
  assert.match(ls.stdout, /^zram +on +shipped +2 optional modules, 2 force-loads$/m);
  const explain = ramboot('hooks', 'explain', 'zram');
  assert.match(explain.stdout, /^zram \(shipped\)\n/);
  assert.match(explain.stdout, /force-loaded at boot:\n {2}zram\n {2}lzo-rle\n/);
  assert.equal(ramboot('hooks', 'explain', 'nosuch').status, 3);
});

test('the README hook.json reference is generated from the schema (npm run readme)', () => {
  const readme = readFileSync('README.md', 'utf8');
  assert.ok(readme.includes('<!-- hook-schema:start'), 'README has no hook-schema markers');
  assert.equal(readme, updateReadmeHookSchema(readme), 'README hook.json table is stale: run npm run readme');
});

test('--hooks DIR is checked before any work; RAMBOOT_HOOKS adds directories for hooks ls and builds', (t) => {
  const missing = ramboot('initrd', '--root', '/nonexistent-root', '-o', join(tmpdir(), 'never.img'), '--hooks', '/nonexistent-hooks');
  assert.equal(missing.status, 3);
  assert.equal(missing.stderr, 'ramboot: error: hook directory /nonexistent-hooks does not exist (hint: give --hooks (or RAMBOOT_HOOKS) a directory holding <name>/hook.json)\n');
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-env-'));
  t.after(() => rmSync(dir, { recursive: true }));
  createHookSkeleton(dir, 'from-env');
  const ls = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'hooks', 'ls'], { encoding: 'utf8', env: { ...process.env, RAMBOOT_HOOKS: dir } });
  assert.match(ls.stdout, new RegExp(`^from-env +on +${dir} +1 applet, 1 stage script$`, 'm'));
});
