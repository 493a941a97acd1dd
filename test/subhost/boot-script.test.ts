import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BOOT_SCRIPT } from '../../src/subhost/boot-script.ts';
import { skipWithout } from '../support/require-tool.ts';

test('the subhost boot-up script passes shellcheck -s sh', { skip: skipWithout('shellcheck', ['--version'], 'apt-get install shellcheck') }, () => {
  const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: BOOT_SCRIPT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout);
});

test('the boot-up reads its inputs from the environment, never from text pasted into it', () => {
  // Every value comes in as RB_*; the script text is a constant, so a path cannot inject sh.
  assert.doesNotMatch(BOOT_SCRIPT, /\$\{?(?!RB_|lower\b|node\b|n\b|major\b|minor\b|s\b|\$|\?|1\b)[A-Za-z_]/);
  for (const v of ['RB_NAME', 'RB_LOWER', 'RB_UPPER', 'RB_WORK', 'RB_LIVE', 'RB_RAM_SIZE', 'RB_START', 'RB_MODE', 'RB_BUSYBOX']) assert.match(BOOT_SCRIPT, new RegExp(`\\$${v}\\b|"\\$${v}`));
});
