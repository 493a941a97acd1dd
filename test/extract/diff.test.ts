// `diff`: added, removed and changed paths between two initrds by type, mode, owner, link
// target, device and content sha256; the later of two entries for a path is what counts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNewc } from '../../src/cpio/newc-writer.ts';
import type { CpioEntry } from '../../src/cpio/entry.ts';
import { diffImages, renderDiff } from '../../src/extract/diff-images.ts';
import { arena, compress, rawCpio, S } from './helpers.ts';

const a = arena('rb-diff-');
after(() => rmSync(a.base, { recursive: true, force: true }));

const file = (path: string, data: string, mode = 0o644, mtime = 1): CpioEntry => ({ path, type: 'file', mode, uid: 0, gid: 0, mtime, data: Buffer.from(data) });
const link = (path: string, target: string): CpioEntry => ({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1, linkTarget: target });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test('added, removed and changed entries, each with what changed', async () => {
  const A = join(a.inputs, 'a.img');
  const B = join(a.inputs, 'b.img');
  writeFileSync(A, Buffer.concat([
    encodeNewc([file('kernel/x86/microcode/GenuineIntel.bin', 'ucode')]),
    compress(encodeNewc([file('init', 'v1'), file('etc/mode', 'same', 0o644), file('gone', 'bye'), link('bin/sh', 'busybox'), file('etc/becomes-dir', 'f'), file('same', 'x', 0o644, 5)]), 'zstd'),
  ]));
  writeFileSync(B, compress(encodeNewc([
    file('kernel/x86/microcode/GenuineIntel.bin', 'ucode'),
    file('init', 'v2'),
    file('etc/mode', 'same', 0o755),
    link('bin/sh', 'bash'),
    { path: 'etc/becomes-dir', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1 },
    file('new', 'hello'),
    file('same', 'x', 0o644, 6),
  ]), 'gzip'));
  const diff = await diffImages({ a: A, b: B });
  assert.deepEqual(diff.added.map((e) => e.path), ['new']); // listed entries only: 'etc' is implied, never listed
  assert.deepEqual(diff.removed.map((e) => e.path), ['gone']);
  assert.deepEqual(diff.changed, [
    { path: 'bin/sh', changes: { linkTarget: ['busybox', 'bash'] } },
    { path: 'etc/becomes-dir', changes: { type: ['file', 'dir'], mode: ['0644', '0755'], size: [1, 0], sha256: [sha('f'), undefined] } },
    { path: 'etc/mode', changes: { mode: ['0644', '0755'] } },
    { path: 'init', changes: { sha256: [sha('v1'), sha('v2')] } },
  ]);
  const text = await renderDiff({ a: A, b: B });
  assert.match(text, /^\+ new \(file, 5 bytes\)$/m);
  assert.match(text, /^- gone \(file, 3 bytes\)$/m);
  assert.match(text, /^~ init: content [0-9a-f]{12} -> [0-9a-f]{12}$/m);
  assert.match(text, /^1 added, 1 removed, 4 changed$/m);
  const withTimes = await diffImages({ a: A, b: B, mtime: true });
  assert.deepEqual(withTimes.changed.find((c) => c.path === 'same'), { path: 'same', changes: { mtime: [5, 6] } });
  assert.deepEqual(JSON.parse(await renderDiff({ a: A, b: B }, true)).changed.length, 4);
});

test('an image against itself has no differences; hard links get their group content', async () => {
  const img = join(a.inputs, 'hl.img');
  writeFileSync(img, rawCpio([
    { name: 'x', mode: S.file | 0o644, nlink: 2, ino: 9 },
    { name: 'y', mode: S.file | 0o644, nlink: 2, ino: 9, data: 'shared' },
  ]));
  assert.equal(await renderDiff({ a: img, b: img }), 'no differences\n');
  const other = join(a.inputs, 'plain.img');
  writeFileSync(other, rawCpio([{ name: 'x', mode: S.file | 0o644, data: 'shared' }, { name: 'y', mode: S.file | 0o644, data: 'shared' }]));
  assert.deepEqual((await diffImages({ a: img, b: other })).changed, [], 'x has the content written with y');
});
