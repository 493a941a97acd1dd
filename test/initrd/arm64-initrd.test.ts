// An arm64 initrd built on this amd64 machine from an arm64 root (the demo root around Debian's
// arm64 cloud kernel): the architecture is read from the root, the busybox is Debian's arm64
// one through apt (its applets read from the binary), and nothing of another CPU gets in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';
import { aptBusybox } from '../../src/initrd/apt-busybox.ts';
import { buildInitrd } from '../../src/initrd/build-initrd.ts';
import { fetchDebianKernel, type DebianKernel } from '../../src/lab/debian-kernel.ts';
import { makeDemoRoot } from '../../src/lab/demo-root.ts';
import { skipWithoutArm64Apt } from '../boot/arm64-set.ts';

const skip = skipWithoutArm64Apt();

let work: string;
let root: string;
let kernel: DebianKernel;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'ramboot-arm64-initrd-'));
  kernel = await fetchDebianKernel('cloud-arm64');
  root = await makeDemoRoot({ dir: join(work, 'root'), kernel, busybox: (await aptBusybox('arm64')).path });
});
after(() => work && rmSync(work, { recursive: true, force: true }));

test('no --arch: the root says arm64, Debian\'s arm64 busybox goes in with its applet links', { skip }, async () => {
  const started = performance.now();
  const result = await buildInitrd({ root, out: join(work, 'a.img') });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(result.arch, 'arm64');
  assert.equal(result.busybox.origin, 'debian');
  const entries = new Map(decodeNewc(execFileSync('zstd', ['-dc', result.path], { maxBuffer: 1 << 30 })).map((e) => [e.path, e]));
  assert.equal(entries.get('bin/busybox')?.data.readUInt16LE(18), 183, 'busybox is AArch64');
  for (const applet of ['bin/sh', 'sbin/switch_root', 'usr/bin/wget', 'sbin/udhcpc', 'sbin/modprobe', 'usr/bin/sha256sum']) {
    assert.match(entries.get(applet)?.linkTarget ?? '', /busybox$/, `${applet} links to busybox`);
  }
  assert.ok(result.modules.some((m) => m.info.name === 'virtio_net'), 'the NIC driver of the virt board is packed');
  console.log(`# arm64 initrd: ${(result.size / 2 ** 20).toFixed(2)} MiB, ${result.modules.length} modules, ${seconds.toFixed(1)} s`);
});

test('this machine\'s amd64 busybox or --arch amd64 for the arm64 root is a one-line error', { skip }, async () => {
  await assert.rejects(buildInitrd({ root, out: join(work, 'b.img'), busybox: '/bin/busybox' }), (e: any) =>
    /busybox \/bin\/busybox is x86-64, the set is arm64/.test(e.message) && /busybox-static:arm64/.test(e.hint));
  await assert.rejects(buildInitrd({ root, out: join(work, 'b.img'), arch: 'amd64' }), /--arch amd64, but the root's \/bin\/sh is arm64/);
});

test('with no arm64 packages known to apt, `ramboot build` is one line naming the fix and writes nothing', { skip }, () => {
  // An apt configuration that knows amd64 only stands in for a machine without the architecture.
  writeFileSync(join(work, 'apt.conf'), 'APT::Architectures { "amd64"; };\n');
  const env = { ...process.env, APT_CONFIG: join(work, 'apt.conf'), RAMBOOT_BUSYBOX_STATIC_CACHE: join(work, 'no-cache') };
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'build', '--root', root, '--out', join(work, 'set')], { env, encoding: 'utf8' });
  assert.equal(run.status, 4, run.stderr);
  assert.equal(run.stderr.trim(), 'ramboot: error: apt on this machine knows no busybox-static:arm64 to put in an arm64 initrd (hint: dpkg --add-architecture arm64 && apt-get update, or give --busybox FILE (a static arm64 busybox))');
  assert.ok(!existsSync(join(work, 'set', 'initrd.img')));
});

test('an amd64 module in the arm64 root stops the build, naming the file and who asked for it', { skip }, async () => {
  // The demo root hard-links the kernel cache: replace the file, never write into it.
  const zram = join(root, 'lib/modules', kernel.kver, 'kernel/drivers/block/zram/zram.ko');
  const bytes = readFileSync(zram);
  bytes.writeUInt16LE(62, 18);
  unlinkSync(zram);
  writeFileSync(zram, bytes);
  await assert.rejects(buildInitrd({ root, out: join(work, 'c.img') }), (e: any) =>
    /\/lib\/modules\/.*\/zram\.ko \(module zram: .*\) is an ELF file for x86-64, the set is arm64/.test(e.message));
});
