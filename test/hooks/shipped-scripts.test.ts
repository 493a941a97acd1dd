// Lint as a test for the shipped hooks' stage scripts (hooks/*/*.sh), which the initrd runs with
// busybox sh like its own scripts: shellcheck -s sh, as test/initrd-scripts/shellcheck.test.ts
// does for initrd-scripts/, and every script a hook.json names is executable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBuiltinHooks } from '../../src/hooks/hook.ts';

const HOOKS = fileURLToPath(new URL('../../hooks', import.meta.url));

test('shellcheck -s sh passes on every shipped stage script, and each is executable', () => {
  const scripts = readBuiltinHooks().flatMap((h) => h.stageScripts.map((s) => join(h.name, s.file)));
  assert.ok(scripts.includes('ssh-debug/start-dropbear.sh'), scripts.join(' '));
  const onDisk = readdirSync(HOOKS).flatMap((d) => readdirSync(join(HOOKS, d)).filter((f) => f.endsWith('.sh')).map((f) => join(d, f)));
  assert.deepEqual([...new Set(scripts)].sort(), onDisk.sort(), 'every .sh in hooks/ is a stage script of its hook');
  for (const s of scripts) assert.ok(statSync(join(HOOKS, s)).mode & 0o100, `${s} is not executable`);
  const r = spawnSync('shellcheck', ['-s', 'sh', ...scripts], { cwd: HOOKS, encoding: 'utf8' });
  assert.ifError(r.error);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
