// The truth test: build an image set with the CLI from a small root around Debian's current
// cloud kernel, serve it over HTTP on 127.0.0.1, boot it in QEMU (TCG) and check from the
// guest's own console what happened. With CI=true a missing QEMU or kernel fails, never skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { buildSet, skip, type BuiltSet } from './image-set.ts';

let set: BuiltSet;
let out: string;
let cmdline: string;
let server: Awaited<ReturnType<typeof startHttpServer>>;

before(async () => {
  if (skip) return;
  set = await buildSet('boot-test');
  ({ out, cmdline } = set);
  server = await startHttpServer(out);
});

after(async () => {
  await server?.close();
  set?.cleanup();
});

function boot(extra: string, until: RegExp, memoryMiB = 1024) {
  return set.boot(`rooturl=${server.url('/rootfs.squashfs')} ${extra}`.trim(), until, { memoryMiB, timeoutMs: 180_000 });
}

test('the image set has the five files and a cmdline.txt the boot script understands', { skip }, () => {
  assert.match(cmdline, /^boot=ram ip=dhcp zram_size_pct=50 panic=10$/);
  const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
  for (const name of ['vmlinuz', 'initrd.img', 'rootfs.squashfs', 'cmdline.txt']) assert.match(sums, new RegExp(`^[0-9a-f]{64}  ${name}$`, 'm'));
  execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out });
});

test('boots over HTTP into the real init on an overlay over squashfs, with zram swap', { skip }, async () => {
  const result = await boot('', /RAMBOOT-DONE/);
  const m = parseInitMarkers(result.output);
  assert.ok(m.done, `init did not finish:\n${result.output.slice(-3000)}`);
  assert.equal(m.pid, 1, 'the real init runs as PID 1');
  assert.equal(m.image, 'boot-test', 'it is our image');
  assert.equal(m.root?.type, 'overlay', '/ is an overlay');
  const lower = /lowerdir=([^,]+)/.exec(m.root?.opts ?? '')?.[1];
  assert.ok(lower, `overlay has a lowerdir: ${m.root?.opts}`);
  // Before switch_root the image mounts move under /run/initramfs (systemd leaves those alone at
  // shutdown) and /run/ramboot/<name> becomes a link to the moved mount.
  const handedOver = lower!.replace(/^\/run\/ramboot\//, '/run/initramfs/ramboot/');
  assert.ok(m.squashfs.some((s) => s.mnt === lower || s.mnt === handedOver), `the lower (${lower}) is the squashfs mount: ${JSON.stringify(m.squashfs)}`);
  assert.equal(m.writable, true, '/ is writable');
  assert.equal(m.machineIdBytes, 0, 'the stale machine-id was emptied in the image');
  const zram = m.swaps.find((s) => s.name.startsWith('/dev/zram'));
  assert.ok(zram, `zram swap is on: ${JSON.stringify(m.swaps)}`);
  const expectedKiB = (m.memTotalKiB ?? 0) * 0.5;
  assert.ok(Math.abs(zram.sizeKiB - expectedKiB) / expectedKiB < 0.01, `zram ${zram.sizeKiB} KiB is 50% of ${m.memTotalKiB} KiB`);
  assert.ok(server.requests.some((r) => r.path === '/rootfs.squashfs' && r.status === 200), 'the image came over HTTP');
});

test('a wrong rootsha256 stops the boot with the checksum message and mounts nothing', { skip }, async () => {
  const wrong = '0'.repeat(64);
  const result = await boot(`rootsha256=${wrong} panic=1`, /Kernel panic|reboot: Restarting/);
  assert.match(result.output, new RegExp(`ramboot: error: .*checksum.*${wrong}`, 'i'));
  const sha = readFileSync(join(out, 'SHA256SUMS'), 'utf8').match(/^([0-9a-f]{64})  rootfs.squashfs$/m)?.[1];
  assert.ok(result.output.includes(sha!), 'the message shows the checksum it got');
  assert.doesNotMatch(result.output, /RAMBOOT-INIT/);
});

test('initrddebug=y opens a shell before the switch; leaving it continues the boot (zram_size_pct=25)', { skip }, async () => {
  const qemu = set.start(`rooturl=${server.url('/rootfs.squashfs')} initrddebug=y zram_size_pct=25`, { timeoutMs: 180_000 });
  try {
    await qemu.waitFor(/initrddebug.*shell/i, 150_000);
    qemu.send('echo SHELL-$((6*7))\n');
    await qemu.waitFor(/SHELL-42/, 20_000);
    qemu.send('exit\n');
    await qemu.waitFor(/RAMBOOT-DONE/, 60_000);
    const result = await qemu.done;
    const m = parseInitMarkers(result.output);
    assert.equal(m.pid, 1);
    const zram = m.swaps.find((s) => s.name.startsWith('/dev/zram'));
    const expectedKiB = (m.memTotalKiB ?? 0) * 0.25;
    assert.ok(zram && Math.abs(zram.sizeKiB - expectedKiB) / expectedKiB < 0.01, `zram is 25%: ${JSON.stringify(m.swaps)} of ${m.memTotalKiB}`);
  } finally {
    qemu.kill();
  }
});
