// Which hooks a build applies: shipped ones, those of --hooks / RAMBOOT_HOOKS directories, a name
// clash an error naming both unless "replaces" says so, optional hooks off unless --hook NAME.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hookDirsFromEnv, readAllHooks, readShippedHooks, selectHooks } from '../../src/hooks/hook.ts';

function hookDir(hooks: Record<string, object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-hooks-'));
  for (const [name, json] of Object.entries(hooks)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'hook.json'), JSON.stringify(json));
  }
  return dir;
}

test('a hook named like a shipped one is an error naming both, unless it says "replaces"', (t) => {
  const clash = hookDir({ zram: { description: 'mine' } });
  const replacing = hookDir({ zram: { description: 'mine', replaces: 'zram', forceLoad: ['zram'] } });
  const other = hookDir({ 'my-zram': { description: 'mine', replaces: 'zram' } });
  t.after(() => [clash, replacing, other].forEach((d) => rmSync(d, { recursive: true })));
  assert.throws(() => readAllHooks([clash]), {
    message: `hook zram from ${join(clash, 'zram')} has the name of the shipped hook zram (hooks/zram)`,
    hint: 'add "replaces": "zram" to its hook.json to take the shipped one\'s place, or rename its directory',
  });
  const replaced = readShippedHooks([replacing]).filter((h) => h.name === 'zram');
  assert.deepEqual(replaced.map((h) => [h.source, h.modules]), [[replacing, ['zram']]]);
  const names = readShippedHooks([other]).map((h) => h.name);
  assert.ok(names.includes('my-zram') && !names.includes('zram'));
});

test('two directories with one hook name, and "replaces" of no shipped hook, are errors', (t) => {
  const a = hookDir({ site: { description: 'a' } });
  const b = hookDir({ site: { description: 'b' }, odd: { description: 'o', replaces: 'nosuch' } });
  t.after(() => [a, b].forEach((d) => rmSync(d, { recursive: true })));
  assert.throws(() => readAllHooks([a, b]), { message: `two hooks are named site: ${join(a, 'site')} and ${join(b, 'site')}` });
  assert.throws(() => readAllHooks([b]), /hook odd from .* replaces nosuch, which is no shipped hook/);
});

test('optional hooks are off unless --hook names them; after: an inactive optional hook is no error', (t) => {
  const dir = hookDir({ extra: { description: 'x', optional: true, binaries: ['/bin/true'] }, late: { description: 'l', after: ['extra'] } });
  t.after(() => rmSync(dir, { recursive: true }));
  const all = readAllHooks([dir]);
  assert.ok(!selectHooks(all).some((h) => h.name === 'extra'));
  const on = selectHooks(all, ['extra']).map((h) => h.name);
  assert.ok(on.indexOf('extra') >= 0 && on.indexOf('extra') < on.indexOf('late'));
  // The hint lists every optional hook, the shipped ones (curl, ssh-debug, verity) first.
  const optional = all.filter((h) => h.optional).map((h) => h.name);
  assert.ok(optional.includes('extra') && optional.includes('curl') && optional.includes('ssh-debug'), optional.join(' '));
  assert.throws(() => selectHooks(all, ['nosuch']), { message: '--hook nosuch: there is no hook of that name', hint: `optional hooks: ${optional.join(', ')}` });
});

test('RAMBOOT_HOOKS is a colon-separated list of hook directories', () => {
  assert.deepEqual(hookDirsFromEnv({ RAMBOOT_HOOKS: '/a::/b c:' }), ['/a', '/b c']);
  assert.deepEqual(hookDirsFromEnv({}), []);
});
