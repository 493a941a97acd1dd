// bond= in the real chain: `ramboot lab --bond` gives the guest two NICs on the lab bridge; it
// PXE-boots on the first, and the ram script (set built with --hook bonding) bonds eth0 and eth1
// active-backup, takes its lease on bond0 from dnsmasq and fetches the rootfs from nginx. The
// lab slows the taps (tc tbf) once the kernel runs, so the fetch takes seconds, and pulls eth0's
// cable (QEMU set_link) 3 s after the console shows bond0's address: the fetch must finish over
// eth1 in the same HTTP request. The console proves each step: bond0 of both slaves, the kernel's failover, the
// bonding hook's report after the fetch (active eth1, eth0 down with one failure), the real init.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { bondTap, setGuestLink, throttleTap } from '../../src/lab/pxe-lab/lab-bond.ts';
import { listNamespaces } from '../../src/lab/pxe-lab/netns.ts';
import { labMac, startLab } from '../../src/lab/pxe-lab/run-lab.ts';
import { buildSet, type BuiltSet } from './image-set.ts';
import { skipLab } from './lab-skip.ts';

const skip = skipLab;

const BOOT_MS = 300_000;
let set: BuiltSet;

before(async () => {
  if (skip) return;
  set = await buildSet('pxe-lab-bond', undefined, ['--hook', 'bonding']);
});
after(() => set?.cleanup());

test('bond=: active-backup over two NICs, eth0 cut during the fetch, the boot completes over eth1', { skip }, async (t) => {
  const rootBytes = statSync(join(set.out, 'rootfs.squashfs')).size;
  const lab = await startLab({ setDir: set.out, bond: true });
  const guest = lab.guests[0]!;
  let cutAt = '';
  try {
    // iPXE loads kernel and initrd at full speed; from here on the lab sends at 16 Mbit/s, so
    // the rootfs takes seconds to arrive.
    await guest.waitFor(/Run \/init as init process/, BOOT_MS);
    for (const tap of ['rbtap1', bondTap(1)]) await throttleTap(lab.namespace, tap, '16mbit');
    const net = await guest.waitFor(/ramboot: net: bond0 10\.77\.0\.\d+\/24[^\n]*\(dhcp\)/, BOOT_MS);
    // The fetch starts right after the lease and takes over 10 s at this rate: 3 s in, it is
    // mid-transfer when the cable goes.
    await new Promise((r) => setTimeout(r, 3000));
    await setGuestLink(guest, 0, false);
    cutAt = guest.output();
    await guest.waitFor(/RAMBOOT-DONE/, BOOT_MS);
    const output = guest.output();
    for (const line of output.split('\n').filter((l) => /ramboot: (net|fetch|bond):|bond0: \(slave/.test(l))) t.diagnostic(line);
    assert.ok(net, 'bond0 got its lease');
    assert.doesNotMatch(cutAt, /ramboot: fetch: [\d.]+ MiB from/, 'the cable was pulled before the fetch finished');
    assert.match(output, /ramboot: net: bond bond0 of eth0 eth1 \(mode=active-backup miimon=100\)/);
    assert.match(output, /ramboot: fetch: [\d.]+ MiB from http:\/\/10\.77\.0\.1\/rootfs\.squashfs/);
    assert.match(output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));
    // The bonding hook's after-fetch report, from /proc/net/bonding/bond0.
    assert.match(output, /ramboot: bond: bond0 mode fault-tolerance \(active-backup\), active eth1; slaves: eth0 down \(failures 1\), eth1 up \(failures 0\)/);
    const m = parseInitMarkers(output);
    assert.ok(m.done, `init did not finish:\n${output.slice(-3000)}`);
    assert.equal(m.pid, 1, 'the real init runs as PID 1');
    assert.doesNotMatch(output, /ramboot: error:/);
    // dnsmasq leased to the bond's MAC (its first slave's), nginx served the whole image once.
    assert.match(readFileSync(lab.dnsmasqLog, 'utf8'), new RegExp(`DHCPACK\\(rbbr0\\) 10\\.77\\.0\\.\\d+ ${labMac(1, 1)}`));
    const gets = readFileSync(lab.accessLog, 'utf8').split('\n').filter((l) => l.includes('"GET /rootfs.squashfs') && l.includes('ua="Wget'));
    // One whole GET (besides the fetch's size probe, cut after the headers) and no Range
    // request: the TCP stream survived the failover, no retry or resume was needed.
    assert.equal(gets.filter((l) => l.includes(`" 200 ${rootBytes} `)).length, 1, gets.join('\n'));
    assert.ok(gets.every((l) => l.includes('range="-"')), gets.join('\n'));
  } finally {
    await lab.close();
  }
  assert.ok(!(await listNamespaces()).includes(lab.namespace), 'the lab namespace is gone');
});
