// npm run build gives one executable that runs with no node_modules and no project files
// beside it: the boot scripts, hooks and exclude lists travel inside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel } from '../../src/lab/debian-kernel.ts';
import { makeDemoRoot } from '../../src/lab/demo-root.ts';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';
import { VERSION } from '../../src/version.ts';

test('dist/ramboot runs alone and embeds the boot scripts', async () => {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-bin-'));
  try {
    const bin = join(dir, 'ramboot');
    copyFileSync('dist/ramboot', bin);
    execFileSync('chmod', ['+x', bin]);
    assert.equal(execFileSync(bin, ['--version'], { cwd: dir, encoding: 'utf8' }).trim(), VERSION);
    const kernel = await fetchDebianKernel('cloud-amd64');
    const root = await makeDemoRoot({ dir: join(dir, 'root'), kernel });
    const r = spawnSync(bin, ['initrd', '--root', root, '-o', join(dir, 'initrd.img'), '--compress', 'none'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const entries = decodeNewc(execFileSync('cat', [join(dir, 'initrd.img')], { maxBuffer: 1 << 30 }));
    const init = entries.find((e) => e.path === 'init');
    assert.ok(init && init.data.toString().startsWith('#!/bin/sh'), 'the ram script is /init');
    assert.ok(entries.some((e) => e.path.startsWith('lib/ramboot/')), 'the script libraries are packed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
