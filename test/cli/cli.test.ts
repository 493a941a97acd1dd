import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../../src/version.ts';

function ramboot(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
}

test('--version matches package.json', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  assert.equal(VERSION, pkg.version);
  assert.equal(ramboot('--version').stdout.trim(), VERSION);
});

test('a root that does not exist is one error line with a hint and exit code 3', () => {
  const r = ramboot('build', '--root', '/nonexistent/root', '--out', mkdtempSync(join(tmpdir(), 'rb-')));
  assert.equal(r.status, 3);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^ramboot: error: root tree \/nonexistent\/root does not exist \(hint: .+\)$/m);
});

test('an unknown option is a usage error', () => {
  const r = ramboot('build', '--root', '.', '--rootsha', 'x');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown option '--rootsha'/);
});

test('a bad --compress names the choices', () => {
  const r = ramboot('initrd', '--root', '.', '-o', 'x', '--compress', 'brotli');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /zstd, gzip, xz, lz4, none/);
});

test('build takes a tarball root; errors name the tarball, not the temporary unpack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-tar-'));
  spawnSync('sh', ['-c', `mkdir -p "${dir}/tree/etc" && echo x > "${dir}/tree/etc/hostname" && tar -C "${dir}/tree" -czf "${dir}/root.tar.gz" .`]);
  const r = ramboot('build', '--root', join(dir, 'root.tar.gz'), '--out', join(dir, 'out'));
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`^ramboot: error: no /boot/vmlinuz-\\* in ${dir}/root\\.tar\\.gz \\(hint: `, 'm'));
  assert.doesNotMatch(r.stderr, /ramboot-root-/);
});
