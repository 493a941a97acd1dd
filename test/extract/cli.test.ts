// The three commands as a user runs them: output, one-line errors with their code, exit codes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arena, compress, rawCpio, S } from './helpers.ts';

const a = arena('rb-cli-');
after(() => rmSync(a.base, { recursive: true, force: true }));

function ramboot(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
}

const early = rawCpio([{ name: 'kernel/x86/microcode/AuthenticAMD.bin', mode: S.file | 0o644, data: 'amd', mtime: 0 }]);
const main = rawCpio([
  { name: 'lib/modules/6.1/kernel/drivers/virtio_net.ko.zst', mode: S.file | 0o644, data: Buffer.alloc(4321), mtime: 0 },
  { name: 'lib/modules/6.1/modules.dep', mode: S.file | 0o644, data: 'x', mtime: 0 },
  { name: 'dev/null', mode: S.chr | 0o666, rmaj: 1, rmin: 3, mtime: 0 },
  { name: 'bin/sh', mode: S.symlink | 0o777, data: 'busybox', mtime: 0 },
]);
const image = join(a.inputs, 'initrd.img');
writeFileSync(image, Buffer.concat([early, compress(main, 'xz')]));

test('ls: segments and entries as text and JSON, modules with --modules --json', () => {
  const text = ramboot('ls', image);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^segment 0 \(uncompressed cpio at byte 0\): 276 bytes, 1 entries$/m);
  assert.match(text.stdout, /^segment 1 \(xz at byte 276\): \d+ bytes, 5000 decompressed, 4 entries$/m);
  assert.match(text.stdout, /^ {2}crw-rw-rw- 0\/0 +1,3 1970-01-01 00:00 dev\/null$/m);
  assert.match(text.stdout, /^ {2}lrwxrwxrwx 0\/0 +7 1970-01-01 00:00 bin\/sh -> busybox$/m);
  const json = JSON.parse(ramboot('ls', '--json', image).stdout);
  assert.deepEqual(json.segments.map((s: { compression: string; entries: number }) => [s.compression, s.entries]), [['none', 1], ['xz', 4]]);
  assert.deepEqual(json.entries[3], { segment: 1, offset: 4628, path: 'dev/null', type: 'chardev', mode: '0666', uid: 0, gid: 0, size: 0, mtime: 0, nlink: 1, rdevMajor: 1, rdevMinor: 3 });
  assert.deepEqual(JSON.parse(ramboot('ls', '--modules', '--json', image).stdout).modules, [
    { path: 'lib/modules/6.1/kernel/drivers/virtio_net.ko.zst', name: 'virtio_net', size: 4321, segment: 1 },
  ]);
});

test('extract: warnings on stderr with codes, --strict turns them into an error', () => {
  const ok = ramboot('extract', image, join(a.target));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /: 5 entries from 2 segments, 1 warning\n$/);
  assert.match(ok.stderr, /^ramboot: warning: W-DEVICE-SKIPPED: segment 1 \(xz at byte 276\): entry 'dev\/null' at byte 4628 of its decompressed data is a character device 1:3, not created \(.+\)\n$/);
  const strict = ramboot('extract', '--strict', image, join(a.inputs, 'strict'));
  assert.equal(strict.status, 3);
  assert.match(strict.stderr, /^ramboot: error: W-DEVICE-SKIPPED: .+ \(hint: this is a warning without --strict\)\n$/);
  rmSync(join(a.inputs, 'strict'), { recursive: true, force: true });
  a.checkOutside();
});

test('extract: a hostile archive is one error line with its code and exit code 3', () => {
  const evil = join(a.inputs, 'evil.img');
  writeFileSync(evil, rawCpio([{ name: 'x/../../sentinel/victim', mode: S.file | 0o644, data: 'pwned' }]));
  const r = ramboot('extract', evil, join(a.inputs, 'evil'));
  assert.equal(r.status, 3);
  assert.equal(
    r.stderr,
    "ramboot: error: E-PATH-TRAVERSAL: segment 0 (uncompressed cpio at byte 0): entry 'x/../../sentinel/victim' at byte 0 has a '..' component (hint: a hostile or broken archive; nothing outside the target directory was written)\n",
  );
  rmSync(join(a.inputs, 'evil'), { recursive: true, force: true });
  a.checkOutside();
});

test('diff: human and JSON', () => {
  const other = join(a.inputs, 'other.img');
  writeFileSync(other, compress(rawCpio([{ name: 'kernel/x86/microcode/AuthenticAMD.bin', mode: S.file | 0o644, data: 'amd2', mtime: 0 }]), 'zstd'));
  const r = ramboot('diff', image, other);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^~ kernel\/x86\/microcode\/AuthenticAMD\.bin: size 3 -> 4, content [0-9a-f]{12} -> [0-9a-f]{12}$/m);
  assert.match(r.stdout, /^0 added, 4 removed, 1 changed$/m);
  const json = JSON.parse(ramboot('diff', '--json', image, other).stdout);
  assert.deepEqual(json.removed.map((e: { path: string }) => e.path), ['bin/sh', 'dev/null', 'lib/modules/6.1/kernel/drivers/virtio_net.ko.zst', 'lib/modules/6.1/modules.dep']);
});
