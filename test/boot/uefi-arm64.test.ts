// The arm64 UKI (issue 15): `ramboot build --uki` of an arm64 set (test/boot/arm64-set.ts) is
// built on systemd-stub's aa64 stub (PE machine 0xaa64; Debian's systemd-boot-efi:arm64, fetched
// through apt when not installed) around the set's uncompressed Image, and Debian's AAVMF boots it
// in qemu-system-aarch64 (virt, Cortex-A57, TCG) from a FAT disk as EFI/BOOT/BOOTAA64.EFI to the
// real init, rooturl=rootfs.squashfs resolved against QEMU's DHCP boot file URL. An x86-64 stub
// for an arm64 set is refused at build time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { parsePe, sectionData } from '../../src/uki/pe-file.ts';
import { DEFAULT_UKI_STUB } from '../../src/uki/build-uki.ts';
import { ramboot } from '../image-set/helpers.ts';
import { AAVMF_DIR, bootUefi, makeEspImage } from '../uki/uefi-lab.ts';
import { skipWithout } from '../support/require-tool.ts';
import { buildArm64Set, skipArm64, type Arm64Set } from './arm64-set.ts';

const skip = skipArm64 || (existsSync(join(AAVMF_DIR, 'AAVMF_CODE.fd')) || process.env.CI === 'true' ? false : 'AAVMF missing (apt-get install qemu-efi-aarch64)')
  || skipWithout('mcopy', ['--version'], 'apt-get install mtools');
let set: Arm64Set;
let http: Awaited<ReturnType<typeof startHttpServer>>;

before(async () => {
  if (skip) return;
  set = await buildArm64Set('uki-aa64', ['--uki', '--uki-append', 'console=ttyAMA0', '--rooturl', 'rootfs.squashfs']);
  http = await startHttpServer(set.out);
});

after(async () => {
  await http?.close();
  set?.cleanup();
});

test('the arm64 UKI is an aa64 PE around the set\'s Image and initrd, listed in SHA256SUMS', { skip }, () => {
  const efi = readFileSync(join(set.out, 'ramboot.efi'));
  const pe = parsePe(efi);
  assert.equal(pe.machine, 0xaa64, 'systemd-stub\'s aa64 stub');
  const section = (name: string) => pe.sections.find((s) => s.name === name) ?? assert.fail(`no ${name}`);
  assert.ok(sectionData(efi, section('.linux')).equals(readFileSync(join(set.out, 'Image'))), '.linux is the uncompressed Image');
  assert.ok(sectionData(efi, section('.initrd')).equals(readFileSync(join(set.out, 'initrd.img'))));
  for (const s of pe.sections.slice(-5)) assert.equal(s.virtualAddress % 4096, 0, `${s.name} at a page-aligned address`);
  assert.match(readFileSync(join(set.out, 'SHA256SUMS'), 'utf8'), /^[0-9a-f]{64} {2}ramboot\.efi$/m);
  const ls = ramboot('ls', join(set.out, 'ramboot.efi'));
  assert.equal(ls.status, 0, ls.stderr);
  assert.match(ls.stdout, /: unified kernel image, arm64, \d+ bytes, unsigned\n/);
});

test('an x86-64 stub for an arm64 set is one error line before any work', { skip }, () => {
  const r = ramboot('build', '--root', set.root, '--out', join(set.work, 'out-wrong-stub'), '--uki', '--uki-stub', DEFAULT_UKI_STUB);
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /UKI stub \S+linuxx64\.efi\.stub is a x86-64 EFI program, but the set is arm64 \(hint: give --uki-stub \S+linuxaa64\.efi\.stub/);
  assert.equal(existsSync(join(set.work, 'out-wrong-stub', 'rootfs.squashfs')), false);
});

test('AAVMF boots the arm64 UKI from EFI/BOOT/BOOTAA64.EFI to the real init', { skip }, async () => {
  const disk = makeEspImage(join(set.out, 'ramboot.efi'), join(set.work, 'esp-aa64.img'), 'BOOTAA64.EFI');
  const r = await bootUefi({ arch: 'aarch64', disks: [disk], work: set.work, secureBoot: false, bootfile: http.url('/boot.efi'), until: /RAMBOOT-DONE|ramboot: error:[^\n]*\n|Kernel panic/, timeoutMs: 900_000 });
  assert.ok(r.matched, `no end of boot within 900 s:\n${r.output.slice(-3000)}`);
  assert.match(r.output, /Booting Linux on physical CPU/);
  assert.match(r.output, /Machine model: linux,dummy-virt|efi: EFI v[\d.]+ by EDK II/);
  assert.match(r.output, /Kernel command line: boot=ram rooturl=rootfs\.squashfs .*console=ttyAMA0/);
  assert.match(r.output, new RegExp(`ramboot: fetch: rootfs\\.squashfs is relative: ${http.url('/rootfs.squashfs').replaceAll('.', '\\.')}`));
  assert.match(r.output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));
  const m = parseInitMarkers(r.output);
  assert.ok(m.done, `init did not finish:\n${r.output.slice(-3000)}`);
  assert.equal(m.pid, 1);
  assert.equal(m.image, 'uki-aa64');
  assert.doesNotMatch(r.output, /ramboot: error:/);
  console.log(`# arm64 UKI under AAVMF to init: ${(r.wallMs / 1000).toFixed(1)} s wall, guest uptime ${/RAMBOOT-INIT pid=1 uptime=([\d.]+)/.exec(r.output)?.[1]} s`);
});
