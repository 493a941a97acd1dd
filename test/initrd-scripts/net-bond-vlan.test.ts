// bond= and vlan= in the network stage (lib/net-bond.sh, lib/net-vlan.sh): the bond made through
// the bonding driver's sysfs files (a fake sysfs here), the VLAN with `ip link add ... type vlan`,
// DHCP or static ip= on the result, and a clear error when the initrd lacks the driver. Which
// values are refused is test/fixtures/cmdline-invalid-cases.json (param-rules.test.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseBond, parseVlan } from '../../src/cmdline/net-virtual.ts';
import { Sandbox, errorLines, fakeUdhcpc } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
const NET = 'ram_stage_setup >/dev/null; ram_stage_net';
const FAST = { RAM_NIC_WAIT_CS: '20', RAM_LINK_WAIT_CS: '20', RAM_DHCP_TRIES: '1', RAM_DHCP_GAP: '1' };
const LEASE = { RAM_NIC_WAIT_CS: '20', RAM_LINK_WAIT_CS: '20' };

/** Two NICs and a loaded bonding driver whose bond0 appears (as the kernel makes it on `+bond0`). */
function bondSandbox(cmdline: string): Sandbox {
  const sb = new Sandbox({ cmdline });
  sandboxes.push(sb);
  sb.nic('eth0');
  sb.nic('eth1');
  sb.write('sys/class/net/bonding_masters', '\n');
  for (const f of ['mode', 'miimon', 'slaves', 'primary']) sb.write(`sys/class/net/bond0/bonding/${f}`, '');
  sb.write('sys/class/net/bond0/carrier', '1\n');
  return sb;
}

/** `ip link add link PHYS name NAME type vlan id N` makes NAME in the fake sysfs, as the kernel would. */
function vlanIp(sb: Sandbox): void {
  sb.write('proc/net/vlan/config', 'VLAN Dev name | VLAN ID\n');
  sb.stub('ip', 'case "$*" in *" type vlan "*) mkdir -p "$RAM_PREFIX/sys/class/net/$6" && echo 1 >"$RAM_PREFIX/sys/class/net/$6/carrier" ;; esac');
}

test('bond=: active-backup bond over eth0,eth1 through sysfs, mode before slaves, primary after; DHCP on bond0 only, BOOTIF ignored', () => {
  const sb = bondSandbox('bond=bond0:eth0,eth1:mode=active-backup,primary=eth1 ip=dhcp BOOTIF=01-52-54-00-12-34-56');
  fakeUdhcpc(sb, { bond0: { ip: '10.77.0.150', mask: '24', router: '10.77.0.1' } });
  const r = sb.run(NET, LEASE);
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('sys/class/net/bonding_masters'), '+bond0\n', 'bond0 created');
  assert.equal(sb.read('sys/class/net/bond0/bonding/mode'), 'active-backup\n');
  assert.equal(sb.read('sys/class/net/bond0/bonding/miimon'), '100\n', 'a link monitor added when none was given');
  assert.equal(sb.read('sys/class/net/bond0/bonding/slaves'), '+eth1\n', 'the last slave written');
  assert.equal(sb.read('sys/class/net/bond0/bonding/primary'), 'eth1\n');
  assert.deepEqual(sb.callLines('ip').filter((l) => !l.startsWith('ip route')), [
    'ip link set dev eth0 down',
    'ip link set dev eth1 down',
    'ip link set dev bond0 up',
    'ip link set dev bond0 up', // udhcpc.sh's deconfig
    'ip addr add 10.77.0.150/24 dev bond0',
  ]);
  assert.deepEqual(sb.calls('udhcpc').map((c) => c[c.indexOf('-i') + 1]), ['bond0']);
  assert.deepEqual(sb.calls('modprobe'), [], 'the driver was there already');
  assert.match(r.stdout, /^ramboot: net: bond bond0 of eth0 eth1 \(mode=active-backup primary=eth1 miimon=100\)$/m);
  assert.match(r.stdout, /^ramboot: net: bond0 10\.77\.0\.150\/24 via 10\.77\.0\.1 \(dhcp\)$/m);
});

test('bond= with static ip=: the address goes on the bond', () => {
  const sb = bondSandbox('bond=bond0:eth0,eth1:mode=active-backup,miimon=50 ip=10.0.0.5::10.0.0.1:255.255.255.0');
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('sys/class/net/bond0/bonding/miimon'), '50\n');
  assert.ok(sb.callLines('ip').includes('ip addr add 10.0.0.5/24 dev bond0'), sb.callLines('ip').join('\n'));
});

test('bond= without the bonding driver in the initrd: modprobe tried, then one error naming the hook', () => {
  const sb = new Sandbox({ cmdline: 'bond=bond0:eth0,eth1:mode=active-backup' });
  sandboxes.push(sb);
  sb.nic('eth0');
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe bonding max_bonds=0']);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: net: bond=bond0:eth0,eth1:mode=active-backup: this kernel has no bonding driver in the initrd (build it with --hook bonding)',
  ]);
});

test('bond= naming a slave that never appears stops the boot naming it', () => {
  const sb = bondSandbox('bond=bond0:eth0,eth7:mode=active-backup');
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1, r.output);
  assert.match(errorLines(r.output)[0] ?? '', /^ramboot: error: net: no network interface named eth7 after 0\.20s/);
});

test('vlan=eth0.0005:eth0: 802.1Q id 5 on eth0, DHCP on the VLAN interface only', () => {
  const sb = new Sandbox({ cmdline: 'vlan=eth0.0005:eth0 ip=dhcp' });
  sandboxes.push(sb);
  sb.nic('eth0');
  sb.nic('eth1');
  vlanIp(sb);
  fakeUdhcpc(sb, { 'eth0.0005': { ip: '10.55.0.100', mask: '24' } });
  const r = sb.run(NET, LEASE);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('ip'), [
    'ip link set dev eth0 up',
    'ip link add link eth0 name eth0.0005 type vlan id 5',
    'ip link set dev eth0.0005 up',
    'ip link set dev eth0.0005 up',
    'ip addr add 10.55.0.100/24 dev eth0.0005',
  ]);
  assert.deepEqual(sb.calls('udhcpc').map((c) => c[c.indexOf('-i') + 1]), ['eth0.0005']);
  assert.match(r.stdout, /^ramboot: net: VLAN 5 on eth0 as eth0\.0005$/m);
});

test('vlan= on the bond: bond first, then the VLAN on it, DHCP on bond0.7', () => {
  const sb = bondSandbox('bond=bond0:eth0,eth1:mode=active-backup vlan=bond0.7:bond0');
  vlanIp(sb);
  fakeUdhcpc(sb, { 'bond0.7': { ip: '10.7.0.9', mask: '24' } });
  const r = sb.run(NET, LEASE);
  assert.equal(r.status, 0, r.output);
  const ip = sb.callLines('ip');
  assert.ok(ip.indexOf('ip link add link bond0 name bond0.7 type vlan id 7') > ip.indexOf('ip link set dev bond0 up'), ip.join('\n'));
  assert.deepEqual(sb.calls('udhcpc').map((c) => c[c.indexOf('-i') + 1]), ['bond0.7']);
  assert.ok(ip.includes('ip addr add 10.7.0.9/24 dev bond0.7'));
});

test('vlan= without the 8021q driver: one error naming the hook', () => {
  const sb = new Sandbox({ cmdline: 'vlan=vlan5:eth0' });
  sandboxes.push(sb);
  sb.nic('eth0');
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe 8021q']);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: net: vlan=vlan5:eth0: this kernel has no 802.1Q driver in the initrd (build it with --hook vlan)']);
});

test('the TS parsers read bond= and vlan= as the sh side does', () => {
  assert.deepEqual(parseBond('bond0'), { name: 'bond0', slaves: ['eth0', 'eth1'], options: ['mode=balance-rr', 'miimon=100'] });
  assert.deepEqual(parseBond('bond1:ens3,ens4:mode=802.3ad,arp_interval=0:9000'), { name: 'bond1', slaves: ['ens3', 'ens4'], options: ['mode=802.3ad', 'arp_interval=0'], mtu: 9000 });
  assert.deepEqual(parseVlan('vlan0005:eth0'), { name: 'vlan0005', phys: 'eth0', id: 5 });
  assert.equal(parseVlan('eth0.5:eth1'), 'the name must carry the VLAN id 1..4094 as eth1.<id> or vlan<id>');
});
