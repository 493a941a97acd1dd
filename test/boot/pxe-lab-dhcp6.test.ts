// DHCPv6 through the real netboot chain (`ramboot lab --ipv6 dhcp6`): firmware PXE, dnsmasq,
// iPXE and nginx as in pxe-lab.test.ts, then the ram script's ip=dhcp6 with busybox udhcpc6.
// Debian 12's busybox has no udhcpc6, so the set is built with `--busybox` naming Debian 13's
// static busybox (src/lab/debian-busybox.ts, fetched once and cached). The lab's router
// advertisements carry the managed flag and a prefix that is on-link but not autonomous: the
// guest's only global address is its DHCPv6 lease, its DNS server comes from the lease too, and
// the image is fetched by a name with only an AAAA record. With CI=true a missing piece fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARKER_INIT } from '../../src/lab/demo-root.ts';
import { fetchDebianBusybox, type DebianBusybox } from '../../src/lab/debian-busybox.ts';
import { LAB_NAME6 } from '../../src/lab/pxe-lab/lab-ipv6.ts';
import { startLab } from '../../src/lab/pxe-lab/run-lab.ts';
import { buildSet, consoleReport, type BuiltSet } from './image-set.ts';
import { assertRealInit, keptConsole } from './lab-asserts.ts';
import { skipLab } from './lab-skip.ts';

const skip = skipLab;
const BOOT_MS = 300_000;
const IMAGE = 'pxe-lab-dhcp6';
// The init also prints the boot report, the address table it found, and the files the initrd's
// fixups wrote to hand the DHCPv6 setup to the root's network manager (the root has ifupdown's
// and systemd's config directories, so both get theirs).
const HANDOFF = ['/etc/network/interfaces.d/ramboot', '/etc/systemd/network/10-ramboot-boot.network', '/etc/resolv.conf'];
const INIT = MARKER_INIT.replace(
  'echo "RAMBOOT-DONE"',
  `echo "RAMBOOT-REPORT $(cat /run/ramboot/report.json)"
ip -6 addr show scope global | sed 's/^/RAMBOOT-ADDR6 /'
for f in ${HANDOFF.join(' ')}; do sed "s|^|RAMBOOT-FILE $f: |" "$f"; done
echo "RAMBOOT-DONE"`,
);
let set: BuiltSet;
let busybox: DebianBusybox;
let rootBytes: number;

before(async () => {
  if (skip) return;
  busybox = await fetchDebianBusybox();
  set = await buildSet(IMAGE, INIT, ['--busybox', busybox.path]);
  // Give the root ifupdown's and networkd's config directories, and build the set again.
  const root = join(set.work, 'root');
  mkdirSync(join(root, 'etc/network/interfaces.d'), { recursive: true });
  writeFileSync(join(root, 'etc/network/interfaces'), 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n');
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'build', '--root', root, '--out', set.out, '--busybox', busybox.path], { stdio: ['ignore', 'ignore', 'inherit'] });
  set.rootSha = /^([0-9a-f]{64}) {2}rootfs\.squashfs$/m.exec(readFileSync(join(set.out, 'SHA256SUMS'), 'utf8'))![1]!;
  rootBytes = statSync(join(set.out, 'rootfs.squashfs')).size;
});

after(() => set?.cleanup());

test('ip=dhcp6: a stateful DHCPv6 lease from dnsmasq (udhcpc6 of Debian 13\'s busybox), DNS from the lease, the image over IPv6 by an AAAA name', { skip }, async () => {
  const started = Date.now();
  const lab = await startLab({ setDir: set.out, ipv6: 'dhcp6', ...keptConsole() });
  try {
    const guest = lab.guests[0]!;
    await guest.waitFor(/RAMBOOT-DONE/, BOOT_MS);
    const output = guest.output();
    assertRealInit(output, IMAGE, set.rootSha);

    // The address, from dnsmasq's range fd77::100-fd77::1ff, as the ram script logged it.
    const lease = /ramboot: net: eth0 (fd77::1[0-9a-f]{2})\/128 dns fd77::1 \(dhcp6\)/.exec(output);
    assert.ok(lease, `a DHCPv6 address from the lab's range with the lease's DNS server:\n${output.split('\n').filter((l) => l.includes('ramboot: net')).join('\n')}`);
    const addr = lease[1]!;
    assert.doesNotMatch(output, /ramboot: net: eth0 10\.77\./, 'no IPv4 setup');
    // report.json (read by the real init) says the same.
    const report = consoleReport(output);
    assert.deepEqual(report.net6, { iface: 'eth0', ip: `${addr}/128`, how: 'dhcp6' });
    // The root's view: the lease is the only global address (the prefix is not autonomous).
    const globals = output.split('\n').filter((l) => /RAMBOOT-ADDR6 +inet6 /.test(l));
    assert.deepEqual(globals.map((l) => /inet6 (\S+)/.exec(l)![1]), [`${addr}/128`], `only the DHCPv6 address is global: ${globals.join(' | ')}`);
    // With the lease's lifetime (dnsmasq: 1h), not "forever": a DHCP address for the root's client to renew.
    assert.match(output, /^RAMBOOT-ADDR6 +valid_lft (\d+)sec preferred_lft \d+sec$/m);
    assert.ok(Number(/valid_lft (\d+)sec/.exec(output)![1]) <= 3600);

    // dnsmasq gave that address to this guest's DUID (its DHCPv6 log names the address).
    const dnsmasqLog = readFileSync(lab.dnsmasqLog, 'utf8');
    assert.match(dnsmasqLog, new RegExp(`DHCPREPLY\\(rbbr0\\) [^\\n]*${addr.replaceAll('.', '\\.')}`), 'dnsmasq logged the DHCPv6 reply with that address');
    // The AAAA-only name was resolved with the DNS server from DHCPv6, and nginx served the whole image to the lease's address.
    assert.match(readFileSync(lab.dnsLog!, 'utf8'), new RegExp(`query\\[AAAA\\] ${LAB_NAME6.replaceAll('.', '\\.')} from ${addr}`));
    assert.match(output, new RegExp(`ramboot: fetch: [\\d.]+ MiB from http://${LAB_NAME6.replaceAll('.', '\\.')}/rootfs\\.squashfs`));
    const served = readFileSync(lab.accessLog, 'utf8').split('\n').filter((l) => l.includes('/rootfs.squashfs'));
    assert.ok(served.some((l) => l.startsWith(`${addr} "GET /rootfs.squashfs HTTP/1.1" 200 ${rootBytes} `)), `nginx served the whole image to ${addr}: ${served.join(' | ')}`);
    // The handoff to the root's network manager, as the real init found it in the overlay.
    const file = (path: string) => output.split('\n').filter((l) => l.startsWith(`RAMBOOT-FILE ${path}: `)).map((l) => l.slice(`RAMBOOT-FILE ${path}: `.length)).join('\n');
    assert.equal(file(HANDOFF[0]!), '# Written by ramboot at boot: this root came over the network by IPv6 (dhcp6 on eth0).\nauto eth0\niface eth0 inet6 dhcp');
    assert.match(file(HANDOFF[1]!), /^\[Match\]\nMACAddress=52:54:00:77:01:01\n\n\[Network\]\nDHCP=ipv6\nIPv6AcceptRA=yes\nKeepConfiguration=yes$/m);
    assert.equal(file(HANDOFF[2]!), '# Written by ramboot from the IPv6 setup of eth0.\nnameserver fd77::1');
    console.log(`# DHCPv6 address ${addr}; busybox-static ${busybox.version}`);
  } finally {
    await lab.close();
  }
  console.log(`# DHCPv6 lab boot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
