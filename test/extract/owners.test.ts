// Owners as root. The writer skips chown(2) when a new node already has the owner asked for
// (our euid/egid: every entry of a typical initrd), to save a system call per entry. That is
// only right while a new node really gets our group: in a setgid target it gets the target's
// group instead (inode(7)), so there every owner must still be set. Both targets are checked
// entry by entry against the archive, with owners that are ours, other, and mixed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractImage } from '../../src/extract/extract-image.ts';
import { arena, compress, rawCpio, snapshot, S, type RawEntry } from './helpers.ts';

const a = arena('rb-owners-');
after(() => rmSync(a.base, { recursive: true, force: true }));

const AS_ROOT = process.getuid?.() === 0;

const ENTRIES: RawEntry[] = [
  { name: 'etc', mode: S.dir | 0o755 },
  { name: 'etc/ours', mode: S.file | 0o644, data: 'root:root\n' },
  { name: 'etc/other', mode: S.file | 0o640, data: 'daemon\n', uid: 1234, gid: 5678 },
  { name: 'etc/group-only', mode: S.file | 0o640, data: 'g\n', gid: 42 },
  { name: 'home', mode: S.dir | 0o750, uid: 1000, gid: 1000 },
  { name: 'home/link', mode: S.symlink | 0o777, data: '../etc/other', uid: 1000, gid: 1000 },
  { name: 'root-link', mode: S.symlink | 0o777, data: 'etc/ours' },
  { name: 'sbin', mode: S.dir | 0o755 },
  { name: 'sbin/su', mode: S.file | 0o4755, data: '#!/bin/sh\n' },
  { name: 'sbin/wall', mode: S.file | 0o2755, data: '#!/bin/sh\n', gid: 5 },
];

function expectedOwners(): Map<string, [number, number]> {
  return new Map(ENTRIES.map((e) => [e.name, [e.uid ?? 0, e.gid ?? 0]]));
}

for (const setgid of [false, true]) {
  test(`as root every entry gets the archive's owner and mode${setgid ? ' in a setgid target of another group' : ''}`, { skip: !AS_ROOT && 'needs root' }, async () => {
    const image = join(a.inputs, `owners-${setgid}.img`);
    writeFileSync(image, compress(rawCpio(ENTRIES), 'zstd'));
    const target = join(a.inputs, `out-${setgid}`);
    mkdirSync(target);
    if (setgid) {
      chownSync(target, 0, 777);
      chmodSync(target, 0o2775);
    }
    await extractImage({ image, dir: target, asRoot: true, keepSetuid: true });
    const tree = snapshot(target);
    for (const [name, [uid, gid]] of expectedOwners()) {
      const got = tree.get(name);
      assert.ok(got, `${name} was extracted`);
      assert.deepEqual([got.uid, got.gid], [uid, gid], `owner of ${name}`);
      const mode = ENTRIES.find((e) => e.name === name)!.mode & 0o7777;
      if (got.type !== 'symlink') assert.equal(got.mode, mode, `mode of ${name}`);
    }
    // The target itself keeps what it was given (extract never changes it).
    const st = statSync(target);
    assert.deepEqual([st.mode & 0o7777, st.gid], setgid ? [0o2775, 777] : [st.mode & 0o7777, st.gid]);
  });
}
