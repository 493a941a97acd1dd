// issue 9 item 6: whatever ls/extract/diff are pointed at, the answer is one line
// `ramboot: error: ...` with a hint, no stack trace and no hang: directories, FIFOs,
// /proc/self/mem, devices, targets under /proc, a read-only target, a full disk.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arena, compress, rawCpio, S } from './helpers.ts';

const a = arena('rb-badin-');
const mounts: string[] = [];
after(() => {
  for (const m of mounts) spawnSync('umount', [m]);
  rmSync(a.base, { recursive: true, force: true });
});

const AS_ROOT = process.getuid?.() === 0;
const image = join(a.inputs, 'ok.img');
writeFileSync(image, compress(rawCpio([{ name: 'etc/hello', mode: S.file | 0o644, data: 'hi\n' }]), 'gzip'));

/** A hang (a FIFO read that never returns) is killed after a minute and fails assertOneLine:
 * a bound on the whole run instead failed on a loaded machine where tsx alone took 7 s a start. */
function ramboot(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 60000 });
}

/** Exit code of an error, one line, no stack, no "internal error". */
function assertOneLine(r: ReturnType<typeof ramboot>, pattern: RegExp): void {
  assert.equal(r.error, undefined, 'the command finished (no hang)');
  assert.notEqual(r.status, 0);
  assert.notEqual(r.status, 70, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^ramboot: error: .+ \(hint: .+\)$/);
  assert.match(lines[0]!, pattern);
}

test('ls, extract and diff on a directory: one line, exit 3', () => {
  const dir = join(a.inputs, 'a-dir');
  mkdirSync(dir);
  assertOneLine(ramboot('ls', dir), /a-dir is a directory, not a regular file/);
  assertOneLine(ramboot('extract', dir, join(a.inputs, 'out-dir')), /is a directory/);
  assertOneLine(ramboot('diff', image, dir), /a-dir is a directory/);
});

test('a FIFO is refused at once instead of blocking forever', () => {
  const fifo = join(a.inputs, 'fifo');
  execFileSync('mkfifo', [fifo]);
  assertOneLine(ramboot('ls', fifo), /fifo is a FIFO, not a regular file/);
  assertOneLine(ramboot('diff', fifo, image), /is a FIFO/);
  assertOneLine(ramboot('extract', fifo, join(a.inputs, 'out-fifo')), /is a FIFO/);
});

test('/proc/self/mem and a device are one-line errors', () => {
  assertOneLine(ramboot('ls', '/proc/self/mem'), /cannot read \/proc\/self\/mem at byte 0: EIO|\/proc\/self\/mem/);
  assertOneLine(ramboot('ls', '/dev/null'), /\/dev\/null is a character device/);
});

test('extract into a directory under /proc is one line', () => {
  assertOneLine(ramboot('extract', image, '/proc/self/ramboot-x'), /cannot use \/proc\/self\/ramboot-x as the target/);
});

test('extract into a read-only filesystem: one line naming the target', { skip: !AS_ROOT && 'mounting a read-only tmpfs needs root' }, () => {
  const ro = join(a.inputs, 'ro');
  mkdirSync(ro);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
  mounts.push(ro);
  assertOneLine(ramboot('extract', image, ro), /read-only/i);
});

test('a full disk while extracting names the filesystem and the space, and leaves no partial file', { skip: !AS_ROOT && 'mounting a small tmpfs needs root' }, () => {
  const small = join(a.inputs, 'small');
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
  mounts.push(small);
  const big = join(a.inputs, 'big.img');
  writeFileSync(big, compress(rawCpio([{ name: 'big.bin', mode: S.file | 0o644, data: randomBytes(600 * 1024) }]), 'zstd'));
  const target = join(small, 'out');
  const r = ramboot('extract', big, target);
  assertOneLine(r, new RegExp(`writing big\\.bin: no space left on the filesystem at ${small.replace(/[/.]/g, '\\$&')} \\(tmpfs, \\d+ bytes free\\); it needs 614400 bytes`));
  assert.deepEqual(existsSync(target) ? readdirSync(target) : [], [], 'no partial file, no temp file');
});
