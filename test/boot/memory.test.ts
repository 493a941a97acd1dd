// Memory and the overlay, booted in QEMU: an image that would not fit is refused with one line
// before anything is downloaded, instead of an out-of-memory kill halfway through the fetch; the
// overlay upper is capped by overlay_size=, or kept on a disk with persist=.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, linkSync, mkdirSync, openSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { buildSet, skip, type BuiltSet } from './image-set.ts';

let set: BuiltSet;
let http: Awaited<ReturnType<typeof startHttpServer>>;

before(async () => {
  if (skip) return;
  set = await buildSet('memory');
  const dir = join(set.work, 'serve');
  mkdirSync(dir);
  linkSync(join(set.out, 'rootfs.squashfs'), join(dir, 'rootfs.squashfs'));
  // 400 MiB the server announces as Content-Length; sparse, since it must never be downloaded.
  const fd = openSync(join(dir, 'big.squashfs'), 'w');
  ftruncateSync(fd, 400 << 20);
  closeSync(fd);
  http = await startHttpServer(dir);
});

after(async () => {
  await http?.close();
  set?.cleanup();
});

test('-m 256 and a 400 MiB image: refused from its Content-Length in one line, nothing downloaded, no OOM', { skip }, async () => {
  const r = await set.boot(`rooturl=${http.url('/big.squashfs')} panic=1`, /Kernel panic|reboot: Restarting/, { memoryMiB: 256 });
  const refusal = /ramboot: error: image 400 MiB \+ overlay 32 MiB > (\d+) MiB free \(Content-Length of \S+; 64 MiB kept for the kernel\): add RAM or serve a smaller image/.exec(r.output);
  assert.ok(refusal, `no refusal line:\n${r.output.slice(-2500)}`);
  assert.ok(Number(refusal[1]) < 256, 'the free figure is what this machine has');
  assert.doesNotMatch(r.output, /Out of memory|oom-kill|invoked oom-killer/i);
  assert.doesNotMatch(r.output, /RAMBOOT-INIT/);
  const gets = http.requests.filter((q) => q.path === '/big.squashfs');
  assert.equal(gets.length, 1, 'only the size probe asked for it');
  assert.ok(gets[0]!.bytes < 400 << 20, 'and it hung up after the headers');
});

test('-m 384 with the real image: it fits, and the overlay tmpfs is capped by overlay_size=', { skip }, async () => {
  const qemu = set.start(`rooturl=${http.url('/rootfs.squashfs')} overlay_size=40M initrddebug=y`, { memoryMiB: 384 });
  try {
    await qemu.waitFor(/initrddebug: shell before switch/, 90_000);
    qemu.send('grep " /run/ramboot/" /proc/mounts | sed "s/^/MOUNT /"; echo MOUNTS-$((40+2))\n');
    await qemu.waitFor(/MOUNTS-42\n/, 20_000);
    const mounts = qemu.output();
    assert.match(mounts, /MOUNT tmpfs \/run\/ramboot\/rw tmpfs [^\n]*size=40960k/, 'the overlay upper is capped at 40M');
    const image = /MOUNT tmpfs \/run\/ramboot\/image tmpfs [^\n]*size=(\d+)k/.exec(mounts);
    assert.ok(image, 'the image has a tmpfs of its own');
    assert.ok(Number(image[1]) < 25_000, `the image tmpfs was shrunk to the image (${image[1]}k)`);
  } finally {
    qemu.kill();
  }
});

test('persist=LABEL=PERSIST: the overlay upper lives on the disk, so what the guest wrote is there afterwards', { skip }, async () => {
  const disk = join(set.work, 'persist.img');
  execFileSync('mkfs.ext4', ['-q', '-L', 'PERSIST', disk, '32M'], { stdio: 'ignore' });
  const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')} persist=LABEL=PERSIST`, /reboot: Power down/, {
    extraArgs: ['-drive', `file=${disk},format=raw,if=virtio`],
  });
  assert.match(r.output, /ramboot: mount: \/ is an overlay of the image \(read-only\) and ramboot\/ on \/dev\/vda \(persist=LABEL=PERSIST\)/);
  assert.equal(parseInitMarkers(r.output).writable, true);
  // The marker init wrote /ramboot-write-test; poweroff -f syncs before QEMU exits, but leaves
  // ext4 mounted: the file's inode may still sit in the journal, which debugfs does not read.
  // e2fsck replays it, as the next mount would (status 1: it changed something, here the replay).
  const fsck = spawnSync('e2fsck', ['-fy', disk], { stdio: 'ignore' });
  assert.ok(fsck.status === 0 || fsck.status === 1, `e2fsck -fy exited ${fsck.status}`);
  const kept = execFileSync('debugfs', ['-R', 'cat /ramboot/upper/ramboot-write-test', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  assert.equal(kept, 'ok\n');
});
