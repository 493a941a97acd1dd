// UEFI HTTP Boot (issue 15), booted: `ramboot lab --firmware uefi-http` gives the guest OVMF with
// no iPXE ROM and its PXE boot options switched off, so the firmware's own HTTP Boot runs: its
// DHCP request says "HTTPClient", dnsmasq (on the config `ramboot config dnsmasq` writes for a set
// with a UKI) answers with option 60 "HTTPClient" and the URL of ramboot.efi, the firmware GETs
// the UKI from nginx and starts it. The UKI carries `rooturl=rootfs.squashfs`, which the ram
// script resolves against the boot file URL its own DHCP got from the same stanza. Asserted from
// the guest's console (firmware, kernel, ram script, real init) and from dnsmasq's and nginx's logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RambootError } from '../../src/errors.ts';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { OVMF_CODE } from '../../src/lab/pxe-lab/guest.ts';
import { labMac, startLab } from '../../src/lab/pxe-lab/run-lab.ts';
import { assembleUki } from '../../src/uki/assemble-uki.ts';
import { DEFAULT_UKI_STUB } from '../../src/uki/build-uki.ts';
import { buildSet, type BuiltSet } from './image-set.ts';
import { skipLab } from './lab-skip.ts';

const skip = skipLab || (existsSync(OVMF_CODE) || process.env.CI === 'true' ? false : `${OVMF_CODE} missing (apt-get install ovmf)`);
/** Measured 31 s wall on a loaded 2-core machine; x3 and more for a busier one. */
const BOOT_MS = 360_000;
let set: BuiltSet;

before(async () => {
  if (skip) return;
  set = await buildSet('uefi-http', undefined, ['--uki', '--uki-append', 'console=ttyS0', '--rooturl', 'rootfs.squashfs']);
});

after(() => set?.cleanup());

test('OVMF\'s UEFI HTTP Boot loads ramboot.efi from nginx; rooturl= resolves against the boot file URL; the real init runs', { skip }, async () => {
  const started = performance.now();
  const lab = await startLab({ setDir: set.out, firmware: 'uefi-http' });
  try {
    const guest = lab.guests[0]!;
    await guest.waitFor(/RAMBOOT-DONE|ramboot: error:[^\n]*\n|Kernel panic|No bootable option/, BOOT_MS);
    const wall = (performance.now() - started) / 1000;
    const output = guest.output();
    const mac = labMac(1, 1);
    // The firmware: HTTP Boot straight away (no PXE option tried, no iPXE anywhere).
    assert.match(output, />>Start HTTP Boot over IPv4/);
    assert.match(output, /URI: http:\/\/10\.77\.0\.1\/ramboot\.efi/);
    assert.match(output, new RegExp(`BdsDxe: starting Boot\\d+ "UEFI HTTPv4 \\(MAC:${mac.replaceAll(':', '').toUpperCase()}\\)"`));
    assert.doesNotMatch(output, /PXE over|iPXE/);
    // The kernel got the UKI's own command line, and the stub handed it the .initrd.
    assert.match(output, /EFI stub: Loaded initrd from LINUX_EFI_INITRD_MEDIA_GUID device path/);
    assert.match(output, /Kernel command line: boot=ram rooturl=rootfs\.squashfs .*console=ttyS0/);
    assert.match(output, /ramboot: fetch: rootfs\.squashfs is relative: http:\/\/10\.77\.0\.1\/rootfs\.squashfs/);
    assert.match(output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));
    const m = parseInitMarkers(output);
    assert.ok(m.done, `init did not finish:\n${output.slice(-3000)}`);
    assert.equal(m.pid, 1);
    assert.equal(m.image, 'uefi-http');

    // nginx: the firmware fetched the UKI whole with its own user agent; nothing of the iPXE chain.
    const log = readFileSync(lab.accessLog, 'utf8');
    const efiBytes = statSync(join(set.out, 'ramboot.efi')).size;
    assert.match(log, new RegExp(`^\\S+ "GET /ramboot\\.efi HTTP/1\\.1" 200 ${efiBytes} range="-" ua="UefiHttpBoot/1\\.0"$`, 'm'));
    assert.match(log, /"GET \/rootfs\.squashfs HTTP\/1\.1" 200 \d+ range="-" ua="Wget[^"]*"/);
    assert.doesNotMatch(log, /boot\.ipxe|GET \/vmlinuz|GET \/initrd\.img/);
    // dnsmasq: the firmware's request tagged httpboot, the ram script's (busybox udhcpc) tagged
    // udhcp, both given the URL.
    const dhcp = readFileSync(lab.dnsmasqLog, 'utf8');
    assert.match(dhcp, /vendor class: HTTPClient:Arch:00016:UNDI:003000/);
    assert.match(dhcp, /tags: httpboot, rbbr0/);
    assert.match(dhcp, /option: 60 vendor-class {2}48:54:54:50:43:6c:69:65:6e:74/, 'option 60 "HTTPClient" in the answer');
    assert.match(dhcp, /vendor class: udhcp 1\.35\.0/);
    assert.match(dhcp, /bootfile name: http:\/\/10\.77\.0\.1\/ramboot\.efi/);
    assert.match(dhcp, new RegExp(`DHCPACK\\(rbbr0\\) 10\\.77\\.0\\.\\d+ ${mac}`));
    const uptime = /RAMBOOT-INIT pid=1 uptime=([\d.]+)/.exec(output)?.[1];
    console.log(`# UEFI HTTP Boot to the real init: ${wall.toFixed(1)} s wall (lab start included), kernel uptime ${uptime} s at init`);
  } finally {
    await lab.close();
  }
});

test('--firmware uefi-http refuses a set without ramboot.efi, a UKI without a serial console, and kernel words it cannot pass', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-uefi-http-nouki-'));
  try {
    for (const f of ['vmlinuz', 'initrd.img', 'cmdline.txt']) symlinkSync(join(set.out, f), join(dir, f));
    await assert.rejects(startLab({ setDir: dir, firmware: 'uefi-http' }), /has no ramboot\.efi/);
    // A UKI whose .cmdline has no console=ttyS0: the lab would watch a silent serial port.
    const parts = { linux: Buffer.alloc(4096, 1), initrd: Buffer.alloc(4096, 2), cmdline: 'boot=ram ip=dhcp', osrel: 'ID=x\n', uname: '6.1.0' };
    writeFileSync(join(dir, 'ramboot.efi'), assembleUki(readFileSync(DEFAULT_UKI_STUB), parts, { timestamp: 0 }));
    await assert.rejects(startLab({ setDir: dir, firmware: 'uefi-http' }), (e: RambootError) => {
      assert.match(e.toLine(), /ramboot\.efi's command line has no console=ttyS0, so the lab would see nothing of the boot \(hint: rebuild the set with --uki --uki-append console=ttyS0\)/);
      return true;
    });
    await assert.rejects(startLab({ setDir: set.out, firmware: 'uefi-http', append: 'zram_size_pct=25' }), /uefi-http boots the UKI with its own \.cmdline, so --append cannot reach the kernel/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
