// Lint as a test: every file the initrd gets from initrd-scripts/ passes `shellcheck -s sh`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SCRIPTS } from './harness.ts';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

test('shellcheck -s sh passes on every file in initrd-scripts/', () => {
  const all = files(SCRIPTS).map((f) => relative(SCRIPTS, f)).sort();
  assert.ok(all.includes('ram') && all.includes('lib/udhcpc.sh'), all.join(' '));
  // -x follows the entry's `source` lines, so the libraries are also checked as /init uses them.
  const r = spawnSync('shellcheck', ['-s', 'sh', '-x', ...all], { cwd: SCRIPTS, encoding: 'utf8' });
  assert.ifError(r.error);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
