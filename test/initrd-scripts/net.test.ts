// The network stage: static ip= and DHCP through udhcpc, with ip/udhcpc/hostname stubbed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, errorLines, fakeUdhcpc } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(cmdline: string): Sandbox {
  const sb = new Sandbox({ cmdline });
  sandboxes.push(sb);
  return sb;
}
const NET = 'ram_stage_setup >/dev/null; ram_stage_net';
const FAST = { RAM_NIC_WAIT_CS: '20', RAM_LINK_WAIT_CS: '20', RAM_DHCP_TRIES: '1', RAM_DHCP_GAP: '1' };
// Each poll advances the fake clock by its sleep at once, so a lease that comes in real time
// gets the default, generous deadline.
const LEASE = { RAM_NIC_WAIT_CS: '20', RAM_LINK_WAIT_CS: '20' };

test('static ip=: link up, address with the netmask as prefix, default route, DNS and hostname', () => {
  const sb = sandbox('ip=10.0.2.15::10.0.2.2:255.255.255.0:node1:eth0:off:10.0.2.3');
  sb.nic('eth0');
  const r = sb.run(NET);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('ip', 'hostname'), [
    'ip link set dev eth0 up',
    'ip addr add 10.0.2.15/24 dev eth0',
    'ip route add default via 10.0.2.2 dev eth0',
    'hostname node1',
  ]);
  assert.equal(sb.read('etc/resolv.conf'), '# Written by ramboot from the static setup of eth0.\nnameserver 10.0.2.3\n');
  assert.match(r.stdout, /^ramboot: net: eth0 10\.0\.2\.15\/24 via 10\.0\.2\.2 dns 10\.0\.2\.3 host node1 \(static\)$/m);
});

test('static ip= without netmask, gateway or device: classful prefix, first NIC, no route', () => {
  const sb = sandbox('ip=10.1.2.3:::::');
  sb.nic('enp1s0');
  sb.nic('enp2s0');
  const r = sb.run(NET);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('ip'), ['ip link set dev enp1s0 up', 'ip addr add 10.1.2.3/8 dev enp1s0']);
  assert.equal(sb.exists('etc/resolv.conf'), false);
});

test('static ip= with a netmask that is not one stops the boot', () => {
  const sb = sandbox('ip=10.0.2.15::10.0.2.2:255.0.255.7::eth0:off');
  sb.nic('eth0');
  const r = sb.run(NET);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: net: eth0: netmask 255.0.255.7 is not a netmask (static)']);
});

test('static ip= naming a NIC that never appears: error lists the NICs there are', () => {
  const sb = sandbox('ip=10.0.2.15::10.0.2.2:255.255.255.0::eth9:off');
  sb.nic('eth0');
  sb.write('sys/class/net/lo/operstate', 'unknown\n');
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), [
    "ramboot: error: net: no network interface named eth9 after 0.20s (there are: eth0 lo; is the NIC's driver in the initrd? ramboot initrd --explain lists them; Mellanox ConnectX needs --hook mellanox)",
  ]);
});

test('static ip= on a NIC without carrier stops after a bounded wait, naming it', () => {
  const sb = sandbox('ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off');
  sb.nic('eth0', '0');
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: net: eth0 has no link after 0.20s (cable, switch port?)']);
});

test('ip=dhcp: udhcpc on every NIC (not lo or bridges), the first lease is applied', () => {
  const sb = sandbox('ip=dhcp');
  sb.nic('eth0');
  sb.nic('eth1');
  sb.write('sys/class/net/lo/operstate', 'unknown\n');
  sb.write('sys/class/net/br0/operstate', 'up\n');
  fakeUdhcpc(sb, { eth1: { ip: '192.168.7.20', mask: '24', router: '192.168.7.1 192.168.7.254', dns: '192.168.7.2  192.168.7.3', domain: 'lab.example', hostname: 'node7', mtu: '9000', lease: '86400' } });
  const r = sb.run(`${NET}; echo "nics=$RAM_NICS"`, { ...LEASE, RAM_AWAIT_FAILURES: '1' });
  assert.equal(r.status, 0, r.output);
  const udhcpc = sb.callLines('udhcpc');
  assert.deepEqual(udhcpc.sort(), [
    'udhcpc -f -q -n -t 30 -T 2 -i eth0 -s /work/main/initrd-scripts/lib/udhcpc.sh',
    'udhcpc -f -q -n -t 30 -T 2 -i eth1 -s /work/main/initrd-scripts/lib/udhcpc.sh',
  ].map((l) => l.replace('/work/main/initrd-scripts', sbScripts())).sort());
  const ip = sb.callLines('ip');
  assert.ok(ip.includes('ip link set dev eth0 up') && ip.includes('ip link set dev eth1 up'), ip.join('\n'));
  assert.deepEqual(ip.filter((l) => !l.endsWith(' up')), [
    'ip link set dev eth1 mtu 9000',
    // The lease's lifetime: the root's DHCP client (NetworkManager) sees a dynamic address to renew.
    'ip addr add 192.168.7.20/24 dev eth1 valid_lft 86400 preferred_lft 86400',
    'ip route add default via 192.168.7.1 dev eth1',
  ]);
  assert.deepEqual(sb.callLines('hostname'), ['hostname node7']);
  assert.equal(sb.read('etc/resolv.conf'), '# Written by ramboot from the dhcp setup of eth1.\nsearch lab.example\nnameserver 192.168.7.2\nnameserver 192.168.7.3\n');
  assert.match(r.stdout, /^ramboot: net: eth1 192\.168\.7\.20\/24 via 192\.168\.7\.1 dns 192\.168\.7\.2 192\.168\.7\.3 host node7 \(dhcp\)$/m);
  assert.match(r.stdout, /^nics=eth0 eth1$/m);
});

test('ip=dhcp with no lease anywhere: one error naming the NICs and the time waited', () => {
  const sb = sandbox('ip=dhcp');
  sb.nic('eth0');
  sb.nic('eth1');
  fakeUdhcpc(sb, {});
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: net: no DHCP lease on eth0 eth1 within 1s (is a DHCP server answering on that network? cable, switch port?)',
  ]);
});

test('ip=:::::eth1:dhcp runs DHCP on that NIC only', () => {
  const sb = sandbox('ip=:::::eth1:dhcp');
  sb.nic('eth0');
  sb.nic('eth1');
  fakeUdhcpc(sb, { eth1: { ip: '192.168.7.20', mask: '24' } });
  const r = sb.run(NET, LEASE);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('udhcpc').map((c) => c[c.indexOf('-i') + 1]), ['eth1']);
  assert.deepEqual(sb.callLines('ip').filter((l) => !l.endsWith(' up')), ['ip addr add 192.168.7.20/24 dev eth1']);
});

test('a lease is data, never code: odd hostnames and DNS are dropped, a bad address stops the boot', () => {
  let sb = sandbox('ip=dhcp');
  sb.nic('eth0');
  fakeUdhcpc(sb, { eth0: { ip: '192.168.7.20', mask: '24', hostname: 'x;reboot', dns: '$(reboot)', domain: '`id`', lease: '08' } });
  let r = sb.run(NET, LEASE);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('hostname'), []);
  // A lease time that is not a plain number (08 would be octal to the shell) gives no lifetime.
  assert.deepEqual(sb.callLines('ip').filter((l) => l.startsWith('ip addr')), ['ip addr add 192.168.7.20/24 dev eth0']);
  assert.equal(sb.exists('etc/resolv.conf'), false);
  sb = sandbox('ip=dhcp');
  sb.nic('eth0');
  fakeUdhcpc(sb, { eth0: { ip: '1.2.3.4;reboot', mask: '24' } });
  r = sb.run(NET, LEASE);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ["ramboot: error: net: eth0: '1.2.3.4;reboot' is not an IPv4 address (dhcp)"]);
});

test('ip=off leaves the network alone', () => {
  const sb = sandbox('ip=off');
  sb.nic('eth0');
  const r = sb.run(NET);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('ip', 'udhcpc'), []);
  assert.match(r.stdout, /net: ip=off, leaving the network alone/);
});

function sbScripts(): string {
  return new URL('../../initrd-scripts', import.meta.url).pathname;
}

test('BOOTIF= (PXE form) picks the NIC with that MAC for DHCP; a MAC no NIC has is named; junk is refused', () => {
  const sb = sandbox('ip=dhcp BOOTIF=01-52-54-00-AB-CD-02');
  for (const [nic, mac] of [['eth0', '52:54:00:ab:cd:01'], ['eth1', '52:54:00:ab:cd:02']]) {
    sb.nic(nic!);
    sb.write(`sys/class/net/${nic}/address`, `${mac}\n`);
  }
  fakeUdhcpc(sb, { eth1: { ip: '10.0.2.15', mask: '24' } });
  const r = sb.run(NET, LEASE);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('udhcpc').map((c) => c[c.indexOf('-i') + 1]), ['eth1']);

  const none = sandbox('BOOTIF=01-52-54-00-ab-cd-09');
  none.nic('eth0');
  none.write('sys/class/net/eth0/address', '52:54:00:ab:cd:01\n');
  assert.deepEqual(errorLines(none.run(NET, FAST).output), ['ramboot: error: net: no network interface has the MAC 52:54:00:ab:cd:09 of BOOTIF=01-52-54-00-ab-cd-09 after 0.20s (there are: eth0)']);

  const junk = sandbox('BOOTIF=01-zz');
  junk.nic('eth0');
  assert.deepEqual(errorLines(junk.run(NET, FAST).output), ['ramboot: error: net: BOOTIF=01-zz is not a MAC address (01-aa-bb-cc-dd-ee-ff, as PXE gives it)']);
});
