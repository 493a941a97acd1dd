// squashfs images: `ls` reads the superblock itself (checked against unsquashfs -s) and lists
// entries through unsquashfs; extract keeps the device and setuid rules of initrds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
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
  // The target directory keeps its own mode and times, not the image root's.
  for (const m of [got, want]) m.delete('');
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

test('hostile squashfs names: a device named "x\ny" is not created, setuid/setgid stripped, non-UTF-8 names byte-exact (issue 9 items 5, 7)', { skip: !AS_ROOT && 'mknod needs root' }, async () => {
  const hsrc = join(a.inputs, 'hostile-src');
  mkdirSync(join(hsrc, 'd'), { recursive: true });
  // Built with Buffer paths: bytes that are not UTF-8 and a newline, as an attacker would.
  const B = (s: string) => Buffer.from(s, 'latin1');
  execFileSync('mknod', ['-m', '666', join(hsrc, 'x\ny'), 'c', '1', '3']);
  execFileSync('mknod', ['-m', '666', join(hsrc, 'd/blk'), 'b', '7', '0']);
  writeFileSync(Buffer.concat([B(hsrc), B('/su\nx')]), 'su');
  chmodSync(Buffer.concat([B(hsrc), B('/su\nx')]), 0o4755);
  writeFileSync(join(hsrc, 'sg'), 'sg');
  chmodSync(join(hsrc, 'sg'), 0o2711);
  writeFileSync(Buffer.concat([B(hsrc), B('/caf\xe9')]), 'latin1 name');
  writeFileSync(Buffer.concat([B(hsrc), B('/caf\xc3\xa9')]), 'utf8 name');
  symlinkSync(B('t\xff\x1b[31m'), Buffer.concat([B(hsrc), B('/lnk')]));
  const himage = join(a.inputs, 'hostile.squashfs');
  execFileSync('mksquashfs', [hsrc, himage, '-noappend', '-quiet', '-no-progress']);
  const target = join(a.inputs, 'hostile-out');
  const result = await extractImage({ image: himage, dir: target });
  const walk = (dir: Buffer): void => {
    for (const name of readdirSync(dir, { encoding: 'buffer' })) {
      const full = Buffer.concat([dir, B('/'), name]);
      const st = lstatSync(full);
      assert.ok(!st.isCharacterDevice() && !st.isBlockDevice(), `${full.toString('latin1')} is no device node`);
      if (!st.isSymbolicLink()) assert.equal(st.mode & 0o6000, 0, `${full.toString('latin1')} has no setuid/setgid bit`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(B(target));
  const warned = result.warnings.map((w) => w.message).join('\n');
  assert.match(warned, /squashfs entry 'x\\ny' is a character device 1:3, not created/);
  assert.match(warned, /squashfs entry 'd\/blk' is a block device 7:0, not created/);
  assert.match(warned, /squashfs entry 'su\\nx': setuid\/setgid bits dropped, mode 04755 -> 0755/);
  assert.match(warned, /squashfs entry 'sg': setuid\/setgid bits dropped, mode 02711 -> 0711/);
  const names = readdirSync(target, { encoding: 'buffer' }).map((n) => n.toString('latin1')).sort();
  assert.deepEqual(names, ['caf\xc3\xa9', 'caf\xe9', 'd', 'lnk', 'sg', 'su\nx']);
  assert.equal(readFileSync(Buffer.concat([B(target), B('/caf\xe9')]), 'utf8'), 'latin1 name');
  assert.equal(readlinkSync(Buffer.concat([B(target), B('/lnk')]), { encoding: 'buffer' }).toString('latin1'), 't\xff\x1b[31m');
  rmSync(target, { recursive: true });
});

test('a corrupt squashfs data block leaves no file under its real name', async () => {
  const csrc = join(a.inputs, 'corrupt-src');
  mkdirSync(csrc, { recursive: true });
  // Compressible, so its blocks are stored compressed and damage is detected (squashfs has no checksums).
  writeFileSync(join(csrc, 'data.bin'), Array.from({ length: 40000 }, (_, i) => `line ${i * 7919}\n`).join(''));
  const cimage = join(a.inputs, 'corrupt.squashfs');
  execFileSync('mksquashfs', [csrc, cimage, '-noappend', '-quiet', '-no-progress', '-comp', 'gzip', '-b', '64K']);
  const bytes = readFileSync(cimage);
  bytes.fill(0x55, 3000, 3400); // inside the first compressed data block of data.bin
  writeFileSync(cimage, bytes);
  const target = join(a.inputs, 'corrupt-out');
  await assert.rejects(extractImage({ image: cimage, dir: target }), /E-CORRUPT: unsquashfs cannot extract/);
  assert.deepEqual(readdirSync(target), [], 'no data.bin, truncated or not, and no private directory');
  rmSync(target, { recursive: true });
});
