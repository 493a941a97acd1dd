// A tarball root gives the same tree and the same rootfs.squashfs whenever it is unpacked, with
// or without SOURCE_DATE_EPOCH (issue 9 item 10). The tarball implies directories it does not
// list (a/, a/b/, x/y/, and the root: no './' entry), which used to get the unpack time, so two
// builds a second apart differed; and it lists x/ before adding x/y/z under it, so x/'s time must
// be set after its children.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { materializeRoot } from '../../src/rootfs/tar-root.ts';
import { skipWithout } from '../support/require-tool.ts';

const LISTED_DIR = 1_600_000_000; // x/, older than every SOURCE_DATE_EPOCH used here
const OLD_FILE = 1_600_000_100;
const NEW_FILE = 1_700_000_000; // newer than SDE below: mksquashfs clamps it
const SDE = 1_650_000_000;
const FUTURE_SDE = 4_000_000_000; // 2096, still a u32 for squashfs
const at = (s: number) => new Date(s * 1000);

let work: string;
let tarball: string;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-repro-'));
  tarball = join(work, 'implied.tar');
  writeFileSync(tarball, await pack([
    { name: 'x', type: 'directory', mode: 0o755, mtime: at(LISTED_DIR) },
    { name: 'x/y/z', data: 'z\n', mtime: at(OLD_FILE) },
    { name: 'a/b/c', data: 'c\n', mtime: at(NEW_FILE) },
    { name: 'a/link', type: 'symlink', linkname: 'b/c', mtime: at(OLD_FILE) },
    { name: 'a/hard', type: 'link', linkname: 'a/b/c', mtime: at(NEW_FILE) },
    { name: 'sbin/init', data: '#!/bin/sh\n', mode: 0o755, mtime: at(OLD_FILE) },
  ]));
});
after(() => rmSync(work, { recursive: true, force: true }));

async function pack(entries: Array<Partial<tarStream.Header> & { name: string; data?: string }>): Promise<Buffer> {
  const p = tarStream.pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const { data, ...header } of entries) p.entry(header, data ?? '');
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

function withoutSde<T>(run: () => T): T {
  const saved = process.env.SOURCE_DATE_EPOCH;
  delete process.env.SOURCE_DATE_EPOCH;
  try {
    return run();
  } finally {
    if (saved !== undefined) process.env.SOURCE_DATE_EPOCH = saved;
  }
}

const mtimeOf = (path: string) => Math.floor(lstatSync(path).mtimeMs / 1000);

test('implied directories and the root get a fixed time; listed ones keep theirs after children are added', async () => {
  const root = await withoutSde(() => materializeRoot(tarball, { progress: false }));
  try {
    const times = Object.fromEntries(['.', 'a', 'a/b', 'x/y', 'x', 'x/y/z', 'a/b/c', 'a/link'].map((p) => [p, mtimeOf(join(root.dir, p))]));
    assert.deepEqual(times, { '.': 0, a: 0, 'a/b': 0, 'x/y': 0, x: LISTED_DIR, 'x/y/z': OLD_FILE, 'a/b/c': NEW_FILE, 'a/link': OLD_FILE });
  } finally {
    await root.cleanup();
  }
  const pinned = await materializeRoot(tarball, { progress: false, dirTime: SDE });
  try {
    assert.deepEqual([mtimeOf(pinned.dir), mtimeOf(join(pinned.dir, 'a/b')), mtimeOf(join(pinned.dir, 'x'))], [SDE, SDE, LISTED_DIR]);
  } finally {
    await pinned.cleanup();
  }
});

const noMksquashfs = skipWithout('mksquashfs', ['-version'], 'apt-get install squashfs-tools') || skipWithout('unsquashfs', ['-help'], 'apt-get install squashfs-tools');

function rootfs(out: string, sde?: number): void {
  const env = { ...process.env };
  delete env.SOURCE_DATE_EPOCH;
  if (sde !== undefined) env.SOURCE_DATE_EPOCH = String(sde);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'rootfs', '--root', tarball, '-o', out], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
}

test('the same tarball gives the same rootfs.squashfs bytes a second later, SOURCE_DATE_EPOCH unset', { skip: noMksquashfs }, async () => {
  const first = join(work, 'first.squashfs');
  const second = join(work, 'second.squashfs');
  rootfs(first);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  rootfs(second);
  assert.ok(readFileSync(first).equals(readFileSync(second)), 'the two images differ');
});

function unsquashedTimes(image: string, paths: string[]): Record<string, number> {
  const out = `${image}.d`;
  const r = spawnSync('unsquashfs', ['-q', '-n', '-d', out, image], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(paths.map((p) => [p, mtimeOf(join(out, p))]));
}

test('with SOURCE_DATE_EPOCH, implied directories get it and newer times are clamped to it', { skip: noMksquashfs }, () => {
  // A SOURCE_DATE_EPOCH in the future: the unpack time would not be clamped away.
  const future = join(work, 'future.squashfs');
  rootfs(future, FUTURE_SDE);
  assert.deepEqual(unsquashedTimes(future, ['.', 'a', 'x/y', 'x', 'x/y/z']), { '.': FUTURE_SDE, a: FUTURE_SDE, 'x/y': FUTURE_SDE, x: LISTED_DIR, 'x/y/z': OLD_FILE });
  // A past one: mksquashfs clamps every newer time to it (a/b/c), older ones stay.
  const past = join(work, 'past.squashfs');
  rootfs(past, SDE);
  assert.deepEqual(unsquashedTimes(past, ['.', 'a', 'x', 'x/y/z', 'a/b/c']), { '.': SDE, a: SDE, x: LISTED_DIR, 'x/y/z': OLD_FILE, 'a/b/c': SDE });
});
