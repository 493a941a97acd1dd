// UEFI and Secure Boot (issue 15): `ramboot build --uki --sign-key/--sign-cert` makes
// ramboot.efi, which Debian's OVMF with Secure Boot on (snakeoil keys enrolled) boots from a FAT
// disk as EFI/BOOT/BOOTX64.EFI to the real init; a tampered or unsigned copy is refused by the
// firmware. The per-machine part comes the Secure Boot way: the stub ignores any passed command
// line, so the UKI carries `rooturl=rootfs.squashfs` and the ram script resolves it against the
// DHCP boot file URL (here QEMU's DHCP option 67), the README's "Relative rooturl=".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { parsePe, sectionData } from '../../src/uki/pe-file.ts';
import { makeRoot, ramboot, sumsCheck, tempWork } from '../image-set/helpers.ts';
import { SNAKEOIL_CERT, bootUefi, makeEspImage, plainSnakeoilKey } from '../uki/uefi-lab.ts';
import { skipWithout, skipWithoutQemu } from '../support/require-tool.ts';

const skip = skipWithoutQemu() || skipWithout('test', ['-f', '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd'], 'apt-get install ovmf')
  || skipWithout('mcopy', ['--version'], 'apt-get install mtools') || skipWithout('sbsign', ['--version'], 'apt-get install sbsigntool');

let work: string;
let root: string;
let out: string;
let http: Awaited<ReturnType<typeof startHttpServer>>;

before(async () => {
  if (skip) return;
  work = tempWork('ramboot-uefi-');
  root = await makeRoot(work, 'uefi');
  out = join(work, 'out');
  const r = ramboot('build', '--root', root, '--out', out, '--uki', '--uki-append', 'console=ttyS0', '--rooturl', 'rootfs.squashfs',
    '--sign-key', plainSnakeoilKey(work), '--sign-cert', SNAKEOIL_CERT);
  assert.equal(r.status, 0, r.stderr);
  http = await startHttpServer(out);
});

after(async () => {
  await http?.close();
  if (work) execFileSync('rm', ['-rf', work]);
});

/** The set's ramboot.efi changed: byte `at` of the section `name` gets `byte`. */
function tamperedCopy(name: string, offsetInSection: number, byte: number): string {
  const efi = readFileSync(join(out, 'ramboot.efi'));
  const section = parsePe(efi).sections.find((s) => s.name === name)!;
  efi[section.pointerToRawData + offsetInSection] = byte;
  const path = join(work, 'tampered.efi');
  writeFileSync(path, efi);
  return path;
}

test('the set lists ramboot.efi in SHA256SUMS; its sections are the set\'s files; verify-sig passes', { skip }, () => {
  assert.match(readFileSync(join(out, 'SHA256SUMS'), 'utf8'), /^[0-9a-f]{64} {2}ramboot\.efi\n[\s\S]*$/m);
  assert.equal(sumsCheck(out).status, 0, 'sha256sum -c SHA256SUMS');
  const efi = readFileSync(join(out, 'ramboot.efi'));
  const section = (name: string) => sectionData(efi, parsePe(efi).sections.find((s) => s.name === name)!);
  assert.ok(section('.linux').equals(readFileSync(join(out, 'vmlinuz'))));
  assert.ok(section('.initrd').equals(readFileSync(join(out, 'initrd.img'))));
  assert.equal(section('.cmdline').toString(), `${readFileSync(join(out, 'cmdline.txt'), 'utf8').trim()} console=ttyS0`);
  assert.match(section('.uname').toString(), /^6\.\d+\.\d+-\d+-cloud-amd64$/);
  const r = ramboot('verify-sig', join(out, 'ramboot.efi'), '--cert', SNAKEOIL_CERT);
  assert.equal(r.status, 0, r.stderr);
  // ramboot ls tells a signed UKI by its certificate table (the README's "Looking inside images").
  const ls = ramboot('ls', join(out, 'ramboot.efi'));
  assert.match(ls.stdout, /^\S+ramboot\.efi: unified kernel image, x86-64, \d+ bytes, signed \(\d+-byte signature table\)$/m);
});

test('Secure Boot: the signed UKI boots to the real init, rooturl resolved against the DHCP boot file', { skip }, async () => {
  const disk = makeEspImage(join(out, 'ramboot.efi'), join(work, 'esp.img'));
  const r = await bootUefi({ disks: [disk], work, secureBoot: true, bootfile: http.url('/boot.efi'), until: /RAMBOOT-DONE|ramboot: error:[^\n]*\n|Kernel panic/, timeoutMs: 300_000 });
  assert.ok(r.matched, `no end of boot within 300 s:\n${r.output.slice(-3000)}`);
  assert.match(r.output, /EFI stub: UEFI Secure Boot is enabled\./);
  assert.match(r.output, /secureboot: Secure boot enabled/);
  assert.match(r.output, /Kernel command line: boot=ram rooturl=rootfs\.squashfs .*console=ttyS0/);
  assert.match(r.output, new RegExp(`ramboot: fetch: rootfs\\.squashfs is relative: ${http.url('/rootfs.squashfs').replaceAll('.', '\\.')}`));
  assert.match(r.output, /ramboot: verify: sha256 [0-9a-f]{64} matches/);
  const m = parseInitMarkers(r.output);
  assert.ok(m.done, `init did not finish:\n${r.output.slice(-3000)}`);
  assert.equal(m.pid, 1);
  assert.equal(m.image, 'uefi');
  assert.doesNotMatch(r.output, /ramboot: error:/);
  console.log(`# Secure Boot UKI to init: ${(r.wallMs / 1000).toFixed(1)} s wall`);
});

test('Secure Boot: a tampered UKI and an unsigned one are both refused by the firmware', { skip }, async () => {
  // One byte of .cmdline changed after signing; and the signature removed (sbattach --remove).
  const tampered = tamperedCopy('.cmdline', 'boot=ram rooturl='.length + 1, 'R'.charCodeAt(0));
  const unsigned = join(work, 'unsigned.efi');
  writeFileSync(unsigned, readFileSync(join(out, 'ramboot.efi')));
  execFileSync('sbattach', ['--remove', unsigned], { stdio: 'ignore' });
  for (const efi of [tampered, unsigned]) assert.notEqual(ramboot('verify-sig', efi, '--cert', SNAKEOIL_CERT).status, 0, `sbverify refuses ${efi} too`);
  // Two disks in one boot: the firmware tries each in turn (slot 5, then 6), then gives up.
  const disks = [makeEspImage(tampered, join(work, 'esp-tampered.img')), makeEspImage(unsigned, join(work, 'esp-unsigned.img'))];
  const r = await bootUefi({ disks, work, secureBoot: true, cpus: 1, until: /No bootable option|Linux version/, timeoutMs: 180_000 });
  assert.match(r.output, /BdsDxe: failed to load Boot\d+ [^\n]*PciRoot\(0x0\)\/Pci\(0x5,0x0\): Access Denied/, `tampered:\n${r.output.slice(-2000)}`);
  assert.match(r.output, /BdsDxe: failed to load Boot\d+ [^\n]*PciRoot\(0x0\)\/Pci\(0x6,0x0\): Access Denied/, `unsigned:\n${r.output.slice(-2000)}`);
  assert.match(r.output, /No bootable option/);
  assert.doesNotMatch(r.output, /Linux version|EFI stub/, 'nothing of either UKI ran');
  console.log(`# both refused after ${(r.wallMs / 1000).toFixed(1)} s wall`);
});

test('a rebuild without --uki drops the old ramboot.efi with the rest of the old set', { skip }, () => {
  const r = ramboot('build', '--root', root, '--out', out, '--rooturl', 'rootfs.squashfs');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(join(out, 'ramboot.efi')), false);
  assert.doesNotMatch(readFileSync(join(out, 'SHA256SUMS'), 'utf8'), /ramboot\.efi/);
  assert.equal(sumsCheck(out).status, 0);
});
