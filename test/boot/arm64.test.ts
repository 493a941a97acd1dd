// arm64 image sets (issue 15): built on this amd64 machine from an arm64 root (the demo root
// around Debian's arm64 cloud kernel and arm64 busybox-static), checked for anything of the
// host's architecture, then served on 127.0.0.1 and booted in qemu-system-aarch64 (virt,
// Cortex-A57, TCG) from the set's Image: what happened is read from the guest's own console.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, openSync, readSync, closeSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';
import { EM_AARCH64, elfMachineOf } from '../../src/elf/machine.ts';
import { isArm64Image } from '../../src/kernel/arm64-image.ts';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { buildArm64Set, skipArm64, type Arm64Set } from './arm64-set.ts';

const skip = skipArm64;
let set: Arm64Set;
let server: Awaited<ReturnType<typeof startHttpServer>>;

before(async () => {
  if (skip) return;
  set = await buildArm64Set('arm64');
  server = await startHttpServer(set.out);
});

after(async () => {
  await server?.close();
  set?.cleanup();
});

/** Every file under `dir` (no symlinks followed) with the first 20 bytes of its content. */
function* filesUnder(dir: string): Generator<{ path: string; head: Buffer }> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile() && lstatSync(path).size >= 20) {
      const fd = openSync(path, 'r');
      const head = Buffer.alloc(20);
      readSync(fd, head, 0, 20, 0);
      closeSync(fd);
      yield { path, head };
    }
  }
}

test('the arm64 set has vmlinuz and an uncompressed Image, both in SHA256SUMS; the build detected arm64', { skip }, () => {
  const sums = readFileSync(join(set.out, 'SHA256SUMS'), 'utf8');
  for (const name of ['vmlinuz', 'Image', 'initrd.img', 'rootfs.squashfs', 'cmdline.txt']) assert.match(sums, new RegExp(`^[0-9a-f]{64}  ${name}$`, 'm'));
  execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: set.out });
  const image = readFileSync(join(set.out, 'Image'));
  assert.ok(isArm64Image(image), 'Image carries the arm64 boot header magic at 0x38');
  assert.equal(image.readUInt16LE(0), 0x5a4d, "Debian's arm64 Image is also a PE file (EFI stub): MZ");
  console.log(`# arm64 build ${set.buildSeconds.toFixed(1)} s, Image ${(image.length / 2 ** 20).toFixed(1)} MiB, kernel ${set.kver}`);
});

test('nothing of the host architecture: every ELF file in initrd.img and rootfs.squashfs is AArch64', { skip }, () => {
  const cpio = execFileSync('zstd', ['-dc', join(set.out, 'initrd.img')], { maxBuffer: 256 << 20 });
  const elves = decodeNewc(cpio).filter((e) => e.type === 'file' && elfMachineOf(e.data) !== undefined);
  const foreign = elves.filter((e) => elfMachineOf(e.data) !== EM_AARCH64).map((e) => `${e.path}: ${elfMachineOf(e.data)}`);
  assert.deepEqual(foreign, [], 'ELF files of another machine in the initrd');
  assert.ok(elves.some((e) => e.path === 'bin/busybox'), 'busybox is among the checked files');
  assert.ok(elves.filter((e) => e.path.endsWith('.ko')).length >= 10, `the modules are checked too (${elves.length} ELF files)`);

  const tree = mkdtempSync(join(tmpdir(), 'ramboot-arm64-rootfs-'));
  try {
    execFileSync('unsquashfs', ['-q', '-n', '-f', '-d', join(tree, 'r'), join(set.out, 'rootfs.squashfs')], { stdio: 'ignore' });
    const rootElves = [...filesUnder(join(tree, 'r'))].filter((f) => elfMachineOf(f.head) !== undefined);
    assert.deepEqual(rootElves.filter((f) => elfMachineOf(f.head) !== EM_AARCH64).map((f) => f.path), [], 'ELF files of another machine in the rootfs');
    assert.ok(rootElves.length >= 10, `rootfs ELF files checked: ${rootElves.length}`);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});

test('boots in qemu-system-aarch64 over HTTP into the real init on an overlay over squashfs, zram at 50%, sha256 verified', { skip }, async () => {
  const result = await set.boot(`rooturl=${server.url('/rootfs.squashfs')}`, /RAMBOOT-DONE|Kernel panic/);
  const m = parseInitMarkers(result.output);
  assert.ok(m.done, `init did not finish:\n${result.output.slice(-3000)}`);
  assert.match(result.output, /Machine model: linux,dummy-virt|Booting Linux on physical CPU/, 'an arm64 kernel booted');
  assert.equal(m.pid, 1, 'the real init runs as PID 1');
  assert.equal(m.image, 'arm64', 'it is our image');
  assert.equal(m.root?.type, 'overlay', '/ is an overlay');
  const lower = /lowerdir=([^,]+)/.exec(m.root?.opts ?? '')?.[1];
  const handedOver = lower?.replace(/^\/run\/ramboot\//, '/run/initramfs/ramboot/');
  assert.ok(m.squashfs.some((s) => s.mnt === lower || s.mnt === handedOver), `the lower (${lower}) is the squashfs mount: ${JSON.stringify(m.squashfs)}`);
  assert.equal(m.writable, true, '/ is writable');
  const zram = m.swaps.find((s) => s.name.startsWith('/dev/zram'));
  assert.ok(zram, `zram swap is on: ${JSON.stringify(m.swaps)}`);
  const expectedKiB = (m.memTotalKiB ?? 0) * 0.5;
  assert.ok(Math.abs(zram.sizeKiB - expectedKiB) / expectedKiB < 0.01, `zram ${zram.sizeKiB} KiB is 50% of ${m.memTotalKiB} KiB`);
  assert.match(result.output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`), 'the image was checked against the pinned sha256');
  assert.ok(server.requests.some((r) => r.path === '/rootfs.squashfs' && r.status === 200), 'the image came over HTTP');
  console.log(`# arm64 boot: real init at ${m.uptime} s guest uptime, ${(result.wallMs / 1000).toFixed(1)} s wall`);
});
