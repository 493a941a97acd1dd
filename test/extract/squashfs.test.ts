// squashfs images: `ls` reads the superblock itself (checked against unsquashfs -s) and lists
// entries through unsquashfs; extract keeps the device and setuid rules of initrds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { extractImage } from '../../src/extract/extract-image.ts';
import { listImage, renderListing } from '../../src/extract/list-image.ts';
import { parseSquashfsSuperblock } from '../../src/extract/squashfs.ts';
import { arena, snapshot } from './helpers.ts';

const AS_ROOT = process.getuid?.() === 0;
const a = arena('rb-squashfs-');
after(() => rmSync(a.base, { recursive: true, force: true }));

const src = join(a.inputs, 'src');
mkdirSync(join(src, 'usr/bin'), { recursive: true });
mkdirSync(join(src, 'lib/modules/6.1/kernel'), { recursive: true });
writeFileSync(join(src, 'usr/bin/tool'), randomBytes(200000));
writeFileSync(join(src, 'lib/modules/6.1/kernel/zram.ko.xz'), randomBytes(1234));
writeFileSync(join(src, 'usr/bin/su'), 'su');
chmodSync(join(src, 'usr/bin/su'), 0o4755);
symlinkSync('usr/bin', join(src, 'bin'));
if (AS_ROOT) {
  mkdirSync(join(src, 'dev'));
  execFileSync('mknod', ['-m', '600', join(src, 'dev/console'), 'c', '5', '1']);
}
const image = join(a.inputs, 'root.squashfs');
execFileSync('mksquashfs', [src, image, '-comp', 'zstd', '-b', '64K', '-noappend', '-quiet', '-no-progress', '-mkfs-time', '1700000000', '-all-time', '1700000000']);

test('ls shows the superblock facts of a mksquashfs image: zstd, 64 KiB blocks, inodes, bytes used, mkfs time', async () => {
  const listing = await listImage({ image });
  assert.equal(listing.kind, 'squashfs');
  if (listing.kind !== 'squashfs') return;
  const sb = listing.superblock;
  const stat = execFileSync('unsquashfs', ['-s', image]).toString();
  assert.equal(sb.compression, 'zstd');
  assert.equal(sb.blockSize, 65536);
  assert.equal(sb.version, '4.0');
  assert.equal(sb.mkfsTime, 1700000000);
  assert.equal(String(sb.inodeCount), /Number of inodes (\d+)/.exec(stat)![1]);
  assert.equal(String(sb.bytesUsed), /Filesystem size (\d+) bytes/.exec(stat)![1]);
  assert.ok(sb.bytesUsed <= readFileSync(image).length);
  const paths = listing.entries.map((e) => e.path);
  assert.ok(paths.includes('usr/bin/tool') && paths.includes('.'));
  const link = listing.entries.find((e) => e.path === 'bin')!;
  assert.deepEqual([link.type, link.linkTarget], ['symlink', 'usr/bin']);
  const su = listing.entries.find((e) => e.path === 'usr/bin/su')!;
  assert.equal(su.mode, 0o4755);
  const text = renderListing(listing);
  assert.match(text, /squashfs 4\.0, zstd, block size 65536, \d+ inodes, \d+ bytes used, made 2023-11-14 22:13:20 UTC/);
  assert.match(renderListing(listing, { modules: true }), /^ +1234 lib\/modules\/6\.1\/kernel\/zram\.ko\.xz\n1 modules, 1234 bytes\n$/m);
});

test('a squashfs superblock that lies is an error naming the field', () => {
  const sb = readFileSync(image).subarray(0, 96);
  const bad = Buffer.from(sb);
  bad.writeUInt32LE(3000, 12); // block size not a power of two
  assert.throws(() => parseSquashfsSuperblock(bad, 1e9), /bad squashfs superblock: block size 3000 with block_log 16/);
  assert.throws(() => parseSquashfsSuperblock(sb, 100), /it claims \d+ bytes, the file has 100 \(truncated\?\)/);
});

test('extract unpacks a squashfs image; devices and setuid bits follow the initrd rules', async () => {
  const result = await extractImage({ image, dir: a.target });
  assert.equal(result.kind, 'squashfs');
  const codes = result.warnings.map((w) => w.code).sort();
  assert.deepEqual(codes, AS_ROOT ? ['W-DEVICE-SKIPPED', 'W-SETUID-DROPPED'] : ['W-SETUID-DROPPED']);
  const got = snapshot(a.target);
  const want = snapshot(src);
  want.delete('dev/console');
  want.get('usr/bin/su')!.mode = 0o755;
  for (const m of [got, want]) for (const v of m.values()) v.mtime = v.type === 'symlink' ? 0 : v.mtime;
  for (const v of want.values()) if (v.type !== 'symlink') v.mtime = 1700000000;
  assert.deepEqual(got, want);
  a.checkOutside();
});

test('as root with --devices --keep-setuid a squashfs image comes out whole', { skip: !AS_ROOT && 'needs root' }, async () => {
  const target = join(a.inputs, 'whole');
  const result = await extractImage({ image, dir: target, devices: true, keepSetuid: true });
  assert.deepEqual(result.warnings, []);
  const got = snapshot(target);
  assert.equal(got.get('usr/bin/su')!.mode, 0o4755);
  assert.deepEqual([got.get('dev/console')!.type, got.get('dev/console')!.rdev], ['chardev', 5 * 256 + 1]);
  rmSync(target, { recursive: true });
});
