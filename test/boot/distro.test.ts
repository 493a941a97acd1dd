// Stock Debian 12 and 13 roots (debootstrap minbase + systemd, udev, sshd, the cloud kernel;
// cached by src/lab/stock-root.ts) booted by ramboot over HTTP in QEMU with 2 GiB, their own
// systemd as PID 1. A reporter unit in the root prints what systemd says once the boot settled
// on the guest's second serial port, then powers off; every assertion reads the guest's own
// output: that port and the console.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildDistroSet, type DistroBoot, type DistroSet } from '../../src/lab/distro-boot.ts';
import { BOOKWORM, BOOKWORM_NM, ensureStockRoot, TRIXIE, type StockRootSpec } from '../../src/lab/stock-root.ts';
import { skipWithout, skipWithoutQemu } from '../support/require-tool.ts';

const skip = skipWithoutQemu() || skipWithout('debootstrap', ['--version'], 'run scripts/setup.sh');
const log = (line: string) => process.stderr.write(`# ${line}\n`);
// QEMU's DHCP server hands this out; the root's /etc/hostname says debian.
const HOSTNAME = 'ramboot-distro';
const NIC = { nic: `virtio-net-pci,hostname=${HOSTNAME}` };

/** What every healthy boot shows; `nic` is the name the root's udev leaves the NIC with. */
function assertHealthy(boot: DistroBoot, nic: RegExp): void {
  const { report, output } = boot;
  const tail = `\n--- reporter port ---\n${boot.probe.slice(-2000)}\n--- console tail ---\n${output.slice(-6000)}`;
  assert.ok(report.done, `the reporter never finished${boot.timedOut ? ' (QEMU timed out)' : ''}${tail}`);
  assert.doesNotMatch(output, /ramboot: (error|warning):/, 'the initrd neither failed nor warned');
  assert.equal(report.state, 'running', `systemctl is-system-running (failed: ${report.failed.join(', ')})${tail}`);
  assert.deepEqual(report.failed, [], 'systemctl --failed is empty');
  // The initrd's address is still there, on the NIC with the MAC QEMU gave it, whatever its name now.
  const boots = report.nics.filter((n) => n.mac === '52:54:00:12:34:56');
  assert.equal(boots.length, 1, `one NIC with QEMU's MAC: ${JSON.stringify(report.nics)}`);
  assert.match(boots[0]!.name, nic);
  assert.deepEqual(report.addrs.filter((a) => a.dev === boots[0]!.name).map((a) => a.cidr), ['10.0.2.15/24'], JSON.stringify(report.addrs));
  assert.match(report.defaultRoute ?? '', /^default via 10\.0\.2\.2 /);
  assert.deepEqual(report.dns, ['10.0.2.3'], 'resolv.conf names the DHCP server\'s DNS');
  assert.equal(report.hostname, HOSTNAME, 'the hostname DHCP handed out');
  assert.ok((report.sshdListening ?? 0) >= 1, `sshd listens on port 22${tail}`);
  const keys = Object.entries(report.hostKeys);
  assert.ok((report.hostKeys.ssh_host_ed25519_key ?? -1) >= 0, `the ed25519 host key, before sshd: ${JSON.stringify(report.hostKeys)}`);
  for (const [key, after] of keys) assert.ok(after >= 0, `${key} was written ${after}s after this boot began, not before`);
  // Made by the root's ssh-keygen in the initrd's background while systemd started; the unit waited for it.
  assert.match(output, /ramboot: fixups: making the ed25519 ssh host key in the background \(PID \d+\) while systemd starts/);
  assert.deepEqual(report.hostKeyLog, ['ed25519 host key: made in the initrd'], `ramboot-ssh-host-keys.service found the initrd's key${tail}`);
  // ECDSA and RSA come at idle priority, after the boot may have settled; sshd is reloaded and offers them.
  for (const key of ['ssh_host_ecdsa_key', 'ssh_host_rsa_key']) {
    assert.ok((report.lateHostKeys[key] ?? -1) >= 0, `${key}, made this boot: ${JSON.stringify(report.lateHostKeys)}${tail}`);
  }
  const order = report.idleKeysStart;
  assert.ok(order && order.multiUserUs > 0 && order.startUs >= order.multiUserUs, `the ECDSA/RSA unit started after multi-user.target, not beside the boot's idle-class units: ${JSON.stringify(order)}${tail}`);
  assert.equal(report.rsaServed, 1, `sshd offers the RSA host key once it exists (ssh-keyscan -t rsa)${tail}`);
  assert.match(report.machineId ?? '', /^[0-9a-f]{32}$/);
  const aboutRoot = report.journalErrors.filter((line) => /ramboot|overlay|squashfs|loop\d|\bmount|remount|\/run\/initramfs|read-only/i.test(line));
  assert.deepEqual(aboutRoot, [], `journal errors about the root (all: ${JSON.stringify(report.journalErrors)})`);
  // Shutdown: systemd's "Failed unmounting X" when a mount the root stands on is busy.
  assert.doesNotMatch(output, /Failed unmounting/);
  assert.match(output, /reboot: Power down/, 'the guest powered off');
}

/** `takeover`: the root's own DHCP client's log line when it took the initrd's lease over.
 * `restart`: what the boot NIC shows after `systemctl restart networking` (ifupdown only). */
function suite(name: string, spec: StockRootSpec, nic: RegExp, takeover: RegExp, twice: boolean, restart?: RegExp): void {
  describe(`Debian ${spec.suite} (${name})`, { skip }, () => {
    let set: DistroSet;
    const boots: DistroBoot[] = [];
    before(async () => {
      const stock = await ensureStockRoot(spec, log);
      log(`${spec.suite} (${name}): root ${stock.built ? 'built' : 'cached'} in ${stock.seconds.toFixed(1)}s (${stock.stamp.kver})`);
      set = await buildDistroSet(stock, `${spec.suite}-${name}`);
      log(`${spec.suite} (${name}): unpacked in ${set.unpackSeconds.toFixed(1)}s, ramboot build ${set.buildSeconds.toFixed(1)}s`);
    });
    after(async () => set?.cleanup());

    test('boots to a running systemd: no failed unit, the initrd\'s address kept, sshd with fresh keys, clean poweroff', async () => {
      const boot = await set.boot('', NIC);
      boots.push(boot);
      const settled = boot.report.uptime === undefined ? 'no report' : `is-system-running returned at ${boot.report.uptime}s guest uptime`;
      log(`${spec.suite} (${name}): ${settled}, ${(boot.wallMs / 1000).toFixed(1)}s wall to poweroff`);
      assertHealthy(boot, nic);
      assert.doesNotMatch(boot.output, /zram: this kernel has no/, 'the default compressor is chosen silently');
      assert.ok(boot.report.dhcpLog.some((line) => takeover.test(line)), `the root's DHCP client holds the same lease: ${JSON.stringify(boot.report.dhcpLog)}`);
      if (restart) assert.match(boot.report.restartNetworking ?? 'no ramboot-boot-nic.service', restart, 'the boot NIC is back after systemctl restart networking');
    });

    if (twice) {
      test('a second boot of the same image, static ip= this time: another machine-id, the address handed over as static', async () => {
        const boot = await set.boot(`ip=10.0.2.15::10.0.2.2:255.255.255.0:${HOSTNAME}:eth0:off:10.0.2.3`, NIC);
        assertHealthy(boot, nic);
        assert.match(boot.output, /ramboot: net: eth0 10\.0\.2\.15\/24 via 10\.0\.2\.2 dns 10\.0\.2\.3 host ramboot-distro \(static\)/);
        assert.deepEqual(boot.report.dhcpLog.filter((line) => /DHCP(DISCOVER|REQUEST|ACK)|DHCPv4 address/.test(line)), [], 'no DHCP client ran in the root');
        assert.ok(boots[0]?.report.machineId, 'the first boot reported its machine-id');
        assert.notEqual(boot.report.machineId, boots[0]!.report.machineId);
      });
    }
  });
}

// Debian 12's 6.1 kernel cannot rename a NIC that is up, so it stays eth0, and ifupdown's
// dhclient takes the lease over; Debian 13's udev renames it to ens3 (predictable names) while
// up (docs/facts.md), and systemd-networkd, matching it by MAC, takes the lease over.
// ifupdown's dhclient starts from ramboot-boot-nic.service once the boot has settled, and that
// unit follows networking.service through a restart.
suite('ifupdown', BOOKWORM, /^eth0$/, /^DHCPACK of 10\.0\.2\.15 from 10\.0\.2\.2/, true, /^active eth0 10\.0\.2\.15\/24$/);
suite('networkd', TRIXIE, /^ens3$/, /^ens3: DHCPv4 address 10\.0\.2\.15\/24, gateway 10\.0\.2\.2 acquired from 10\.0\.2\.2/, false);
// NetworkManager takes the boot NIC over through ramboot's keyfile (matched by MAC), keeps the
// address the initrd set and renews the lease with its internal DHCP client.
suite('NetworkManager', BOOKWORM_NM, /^eth0$/, /dhcp4 \(eth0\): state changed new lease, address=10\.0\.2\.15/, false);
