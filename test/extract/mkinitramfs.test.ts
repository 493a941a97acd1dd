// A real initrd from another generator: Debian's mkinitramfs, with an early (uncompressed)
// segment made the way the microcode packages make theirs (a hook calling
// prepend_earlyinitramfs), then a zstd main segment. Our listing must match GNU cpio's per
// segment, and our extraction must match unmkinitramfs'. mkinitramfs reads the kernel from
// /lib/modules/KVER and /boot/config-KVER of this machine, so the test links a depmod'd copy of
// the cached Debian kernel there for its duration (as root, only where nothing exists yet).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel, type DebianKernel } from '../../src/lab/debian-kernel.ts';
import { listImage, type InitrdListing } from '../../src/extract/list-image.ts';
import { extractImage } from '../../src/extract/extract-image.ts';
import { skipWithout } from '../support/require-tool.ts';
import { snapshot } from './helpers.ts';

const asRoot = process.getuid?.() === 0;
const skip = skipWithout('unmkinitramfs', ['--help'], 'apt-get install initramfs-tools-core') || (asRoot ? false : 'needs root to link the kernel into /lib/modules');

let work: string;
let kernel: DebianKernel;
let image: string;
const cleanups: { path: string; dir: boolean }[] = [];

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'ramboot-mkinitramfs-'));
  kernel = await fetchDebianKernel('cloud-amd64');
  const modules = join(work, 'modules', kernel.kver);
  cpSync(kernel.modulesDir, modules, { recursive: true });
  for (const [target, link] of [
    [modules, `/lib/modules/${kernel.kver}`],
    [join(kernel.root, 'boot', `config-${kernel.kver}`), `/boot/config-${kernel.kver}`],
  ] as const) {
    // lstat, not exists: a dangling link left by a killed run must not be taken for absent.
    if (lstatSync(link, { throwIfNoEntry: false })) continue;
    const parent = join(link, '..');
    if (!existsSync(parent)) {
      mkdirSync(parent, { recursive: true });
      cleanups.push({ path: parent, dir: true });
    }
    symlinkSync(target, link);
    cleanups.push({ path: link, dir: false });
  }
  execFileSync('depmod', [kernel.kver], { stdio: 'ignore' });

  const conf = join(work, 'conf');
  cpSync('/etc/initramfs-tools', conf, { recursive: true });
  writeFileSync(join(conf, 'initramfs.conf'), 'MODULES=list\nBUSYBOX=auto\nCOMPRESS=zstd\n');
  writeFileSync(join(conf, 'modules'), 'virtio_net\nsquashfs\noverlay\n');
  mkdirSync(join(conf, 'hooks'), { recursive: true });
  writeFileSync(
    join(conf, 'hooks', 'early-blob'),
    `#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
early=$(mktemp -d)
mkdir -p "$early/kernel/x86/microcode"
printf 'ramboot early segment test\\n' > "$early/kernel/x86/microcode/GenuineIntel.bin"
(cd "$early" && find . | LC_ALL=C sort | cpio --quiet -o -H newc) > "$early.cpio"
prepend_earlyinitramfs "$early.cpio"
rm -rf "$early" "$early.cpio"
`,
    { mode: 0o755 },
  );
  image = join(work, 'initrd.img');
  execFileSync('mkinitramfs', ['-d', conf, '-o', image, kernel.kver], { stdio: ['ignore', 'ignore', 'inherit'] });
});

after(() => {
  // Links first, then the directories made for them (latest first).
  for (const { path, dir } of cleanups.reverse()) (dir ? rmdirSync : unlinkSync)(path);
  if (work) rmSync(work, { recursive: true, force: true });
});

test('ls of a mkinitramfs image: an early cpio, then zstd, each matching GNU cpio -t', { skip }, async () => {
  const listing = (await listImage({ image })) as InitrdListing;
  assert.equal(listing.kind, 'initrd');
  assert.deepEqual(listing.segments.map((s) => s.compression), ['none', 'zstd']);
  const [early, main] = listing.segments;
  const bytes = readFileSync(image);
  const gnuEarly = execFileSync('cpio', ['-t', '--quiet'], { input: bytes.subarray(early!.offset, early!.offset + early!.compressedSize) }).toString();
  const gnuMain = execFileSync('sh', ['-c', `tail -c +${main!.offset + 1} "${image}" | zstd -dc | cpio -t --quiet`], { maxBuffer: 1 << 28 }).toString();
  const ours = (segment: number) => listing.entries.filter((e) => e.segment === segment).map((e) => e.path);
  assert.deepEqual(ours(0), gnuEarly.trim().split('\n'));
  assert.deepEqual(ours(1), gnuMain.trim().split('\n'));
  assert.ok(ours(0).includes('kernel/x86/microcode/GenuineIntel.bin'));
  assert.ok(ours(1).some((p) => p.endsWith('/virtio_net.ko')), 'the module list made it in');
});

test('extract of a mkinitramfs image equals unmkinitramfs early/ + main/', { skip }, async () => {
  const theirs = join(work, 'theirs');
  execFileSync('unmkinitramfs', [image, theirs]);
  const ours = join(work, 'ours');
  const result = await extractImage({ image, dir: ours, devices: true });
  assert.equal(result.segments.length, 2);
  const strip = (snap: Map<string, { type: string; sha256?: string; linkTarget?: string; size?: number }>) =>
    new Map([...snap].filter(([p]) => p !== '').map(([p, s]) => [p, { type: s.type, sha256: s.sha256, linkTarget: s.linkTarget, size: s.size }]));
  const expected = new Map([...strip(snapshot(join(theirs, 'early'))), ...strip(snapshot(join(theirs, 'main')))]);
  assert.deepEqual(strip(snapshot(ours)), expected);
});
