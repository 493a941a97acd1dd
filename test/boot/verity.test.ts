// The verity hook, built and booted: a demo root with the build host's dmsetup (and its
// libraries) copied in, and a 3 MiB probe file of known incompressible bytes. `build --hook
// verity` twice must give the same bytes; the boots show the image mapped through dm-verity
// (console and report.json), the probe read whole with its right sha256, and with one byte of
// the probe's data flipped in the built image, the read failing with an I/O error instead of
// returning other data — over HTTP (image in RAM) and from a disk with toram=0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel } from '../../src/lab/debian-kernel.ts';
import { makeDemoRoot } from '../../src/lab/demo-root.ts';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { bootQemu } from '../../src/lab/qemu.ts';
import { addHostBinary, addProbe, flipProbeByte, VERITY_INIT } from '../../src/lab/verity-root.ts';
import { skipWithoutQemu } from '../support/require-tool.ts';

const skip = skipWithoutQemu();
const PROBE_SIZE = 3 << 20;
let work: string;
let root: string;
let probe: Buffer;
let served: Awaited<ReturnType<typeof startHttpServer>>;
let tampered: Awaited<ReturnType<typeof startHttpServer>>;
let disk: string;
let flippedAt: number;

const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
const out = () => join(work, 'out');
const ramConf = () => {
  const dir = join(work, 'initrd-x');
  rmSync(dir, { recursive: true, force: true });
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'extract', join(out(), 'initrd.img'), dir], { stdio: 'ignore' });
  return readFileSync(join(dir, 'etc/ram.conf'), 'utf8');
};
const fact = (conf: string, name: string) => new RegExp(`^RAM_${name}='([^']*)'$`, 'm').exec(conf)?.[1];

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'ramboot-verity-'));
  const kernel = await fetchDebianKernel('cloud-amd64');
  root = await makeDemoRoot({ dir: join(work, 'root'), kernel, stamp: 'verity', init: VERITY_INIT });
  await addHostBinary(root, '/sbin/dmsetup');
  probe = addProbe(root, PROBE_SIZE);
  for (const dir of [out(), join(work, 'out2')]) {
    const r = cli('build', '--root', root, '--out', dir, '--hook', 'verity');
    assert.equal(r.status, 0, r.stderr);
  }
  // The same set with one byte of the probe's data flipped, 1.5 MiB into the file (a full
  // squashfs block, stored as it is): what a tampered server or a failing disk would give.
  const bad = join(work, 'tampered');
  mkdirSync(bad);
  for (const name of readdirSync(out())) copyFileSync(join(out(), name), join(bad, name));
  flippedAt = flipProbeByte(join(bad, 'rootfs.squashfs'), probe, 3 << 19);
  served = await startHttpServer(out());
  tampered = await startHttpServer(bad);
  // One ext4 disk holding both images, for dev:// with toram=0.
  const media = join(work, 'media');
  mkdirSync(join(media, 'images'), { recursive: true });
  copyFileSync(join(out(), 'rootfs.squashfs'), join(media, 'images/good.squashfs'));
  copyFileSync(join(bad, 'rootfs.squashfs'), join(media, 'images/bad.squashfs'));
  disk = join(work, 'disk.img');
  execFileSync('mkfs.ext4', ['-q', '-L', 'ROOTIMG', '-d', media, disk, '96M'], { stdio: 'ignore' });
});

after(async () => {
  await served?.close();
  await tampered?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function boot(append: string, extraArgs: string[] = [], set = out()) {
  const cmdline = readFileSync(join(set, 'cmdline.txt'), 'utf8').trim();
  return bootQemu({
    kernel: join(set, 'vmlinuz'),
    initrd: join(set, 'initrd.img'),
    append: `${cmdline} console=ttyS0 ${append}`,
    memoryMiB: 1024,
    timeoutMs: 360_000,
    extraArgs,
    until: /RAMBOOT-DONE|ramboot: error:/,
  });
}

const probeSha = () => createHash('sha256').update(probe).digest('hex');

test('build --hook verity: the same inputs give the same bytes, and SHA256SUMS lists the image with its tree', { skip }, () => {
  for (const name of readdirSync(out())) {
    assert.ok(readFileSync(join(out(), name)).equals(readFileSync(join(work, 'out2', name))), `${name} differs between two builds`);
  }
  const sums = readFileSync(join(out(), 'SHA256SUMS'), 'utf8');
  const image = readFileSync(join(out(), 'rootfs.squashfs'));
  assert.match(sums, new RegExp(`^${createHash('sha256').update(image).digest('hex')}  rootfs\\.squashfs$`, 'm'));
  assert.equal(readFileSync(join(out(), 'cmdline.txt'), 'utf8'), 'boot=ram ip=dhcp zram_size_pct=50 panic=10\n', 'cmdline.txt carries nothing of verity');
  const conf = ramConf();
  const offset = Number(fact(conf, 'VERITY_HASH_OFFSET'));
  assert.equal(fact(conf, 'ROOTSIZE'), String(image.length));
  assert.ok(offset > 0 && offset % 4096 === 0 && offset < image.length, `hash offset ${offset}`);
  assert.equal(image.subarray(offset, offset + 6).toString('latin1'), 'verity', 'the verity superblock starts at the hash offset');
  // The host's veritysetup as the oracle: the baked root hash verifies the image's tree.
  const verify = (file: string) => spawnSync('veritysetup', ['verify', `--hash-offset=${offset}`, file, file, fact(conf, 'VERITY_ROOTHASH')!], { encoding: 'utf8' });
  assert.equal(verify(join(out(), 'rootfs.squashfs')).status, 0, verify(join(out(), 'rootfs.squashfs')).stderr);
  assert.notEqual(verify(join(work, 'tampered', 'rootfs.squashfs')).status, 0, 'the tampered copy fails veritysetup verify');
  assert.ok(flippedAt < offset, 'the flipped byte is in the squashfs data, not the tree');
});

test('initrd --hook verity alone is refused: only build writes the image the root hash is of', { skip }, () => {
  const r = cli('initrd', '--root', root, '-o', join(work, 'alone.img'), '--hook', 'verity');
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^ramboot: error: the verity hook needs the root hash of its image, and ramboot initrd does not write one \(hint: build the set with ramboot build --hook verity/m);
});

test('it boots through dm-verity: no sha256 pass, the root mounted from the verity device, the probe reads right', { skip }, async () => {
  const r = await boot(`rooturl=${served.url('/rootfs.squashfs')}`);
  const tail = r.output.slice(-4000);
  assert.match(r.output, /ramboot: verify: no sha256 check: dm-verity checks every block of the image against root hash [0-9a-f]{64}/, tail);
  assert.match(r.output, /ramboot: verity: \/dev\/mapper\/ramboot-root maps \/run\/ramboot\/image\/\S+ \(\/dev\/loop\d+\) through dm-verity/, tail);
  assert.match(r.output, /^RAMBOOT-INIT pid=1 /m, tail);
  assert.match(r.output, /^RAMBOOT-SQUASHFS mnt=\S+ dev=\/dev\/mapper\/ramboot-root\s*$/m, tail);
  const report = JSON.parse(/^VERITY-REPORT (.*)$/m.exec(r.output)![1]!);
  assert.equal(report.verify.result, 'verity');
  assert.equal(report.verity.device, '/dev/mapper/ramboot-root');
  assert.equal(report.verity.roothash, fact(ramConf(), 'VERITY_ROOTHASH'));
  assert.match(r.output, new RegExp(`^VERITY-READ ok ${probeSha()}\\s*$`, 'm'), tail);
});

test('one flipped byte of a file in the served image: reading it is an I/O error in the root, not other data', { skip }, async () => {
  const r = await boot(`rooturl=${tampered.url('/rootfs.squashfs')}`);
  const tail = r.output.slice(-4000);
  assert.match(r.output, /^RAMBOOT-INIT pid=1 /m, `the rest of the image still boots\n${tail}`);
  assert.match(r.output, /^VERITY-READ error .*Input\/output error/m, tail);
  assert.doesNotMatch(r.output, /^VERITY-READ ok/m);
  assert.match(r.output, /device-mapper: verity: [\d:]+: data block \d+ is corrupted/, tail);
});

test('dev:// with toram=0: mapped from the disk, the probe reads right; the tampered file on the disk gives an I/O error', { skip }, async () => {
  const drive = ['-drive', `file=${disk},format=raw,if=virtio,readonly=on`];
  const good = await boot('rooturl=dev://LABEL=ROOTIMG/images/good.squashfs toram=0', drive);
  assert.match(good.output, /ramboot: fetch: toram=0: the image stays on \/dev\/vda/, good.output.slice(-4000));
  assert.match(good.output, /ramboot: verity: \/dev\/mapper\/ramboot-root maps \/run\/ramboot\/media\/images\/good\.squashfs/, good.output.slice(-4000));
  assert.match(good.output, new RegExp(`^VERITY-READ ok ${probeSha()}\\s*$`, 'm'), good.output.slice(-4000));
  const bad = await boot('rooturl=dev://LABEL=ROOTIMG/images/bad.squashfs toram=0', drive);
  assert.match(bad.output, /^RAMBOOT-INIT pid=1 /m, bad.output.slice(-4000));
  assert.match(bad.output, /^VERITY-READ error .*Input\/output error/m, bad.output.slice(-4000));
});

test('--embed with --hook verity: the image inside the initrd is mapped through dm-verity too', { skip }, async () => {
  const embedded = join(work, 'out-embed');
  const built = cli('build', '--root', root, '--out', embedded, '--hook', 'verity', '--embed');
  assert.equal(built.status, 0, built.stderr);
  const r = await boot('', [], embedded);
  const tail = r.output.slice(-4000);
  assert.match(r.output, /ramboot: verity: \/dev\/mapper\/ramboot-root maps \/rootfs\.squashfs \(\/dev\/loop\d+\) through dm-verity/, tail);
  assert.match(r.output, new RegExp(`^VERITY-READ ok ${probeSha()}\\s*$`, 'm'), tail);
});
