// lib/fixups.sh handing the IPv6 setup of the initrd (lib/net-ipv6.sh: RAM_NET6_*) to the root's
// network manager, as it does the IPv4 one: ifupdown `inet6 auto|dhcp|manual`, networkd
// `IPv6AcceptRA=` / `DHCP=ipv6` / a static Address=, NetworkManager `[ipv6] method=auto|dhcp|manual`;
// dual stack on one NIC in one stanza/file/keyfile, an IPv6-only boot alone (IPv4 left off).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { Sandbox } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));

/** A root with ifupdown (sourcing interfaces.d) and systemd; `nm`: NetworkManager enabled. */
function sandbox(nm = false): Sandbox {
  const sb = new Sandbox({});
  sandboxes.push(sb);
  sb.write('sys/class/net/eth0/address', '52:54:00:12:34:56\n');
  sb.write('newroot/etc/network/interfaces', 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n');
  mkdirSync(sb.path('newroot/etc/systemd/system/multi-user.target.wants'), { recursive: true });
  if (nm) symlinkSync('/usr/lib/systemd/system/NetworkManager.service', sb.path('newroot/etc/systemd/system/multi-user.target.wants/NetworkManager.service'));
  return sb;
}

const V4_DHCP = "RAM_NICS='eth0' RAM_NET_IFACE=eth0 RAM_NET_DNS=10.77.0.1 RAM_NET_HOW=dhcp";
const V4_NONE = "RAM_NICS='eth0' RAM_NET_IFACE= RAM_NET_DNS= RAM_NET_HOW=";
const fixups = (v4: string, v6: string) => `ram_stage_setup >/dev/null; RAM_NEWROOT=$RAM_PREFIX/newroot ${v4} RAM_NET_SEARCH= RAM_NET_HOSTNAME= ${v6}; ram_stage_fixups`;
const SLAAC = 'RAM_NET6_IFACE=eth0 RAM_NET6_IP=fd77::5054:ff:fe12:3456 RAM_NET6_PREFIX=64 RAM_NET6_ROUTER= RAM_NET6_DNS= RAM_NET6_HOW=auto6';
const DHCP6 = 'RAM_NET6_IFACE=eth0 RAM_NET6_IP=fd77::159 RAM_NET6_PREFIX=128 RAM_NET6_ROUTER= RAM_NET6_DNS=fd77::1 RAM_NET6_HOW=dhcp6';
const STATIC6 = "RAM_NET6_IFACE=eth0 RAM_NET6_IP=fd77::50 RAM_NET6_PREFIX=64 RAM_NET6_ROUTER=fd77::1 RAM_NET6_DNS='fd77::53 10.77.0.1' RAM_NET6_HOW=static6";
const NETWORKD = 'newroot/etc/systemd/network/10-ramboot-boot.network';
const KEYFILE = 'newroot/etc/NetworkManager/system-connections/ramboot-boot.nmconnection';
const networkd = (how: string, lines: string[]) => [`# Written by ramboot at boot: the initrd configured this NIC (eth0, ${how}); keep it.`, '[Match]', 'MACAddress=52:54:00:12:34:56', '', '[Network]', ...lines, ''].join('\n');
/** The keyfile's [ipv4] and [ipv6] sections. */
const keyfileIp = (sb: Sandbox) => sb.read(KEYFILE).replace(/^[\s\S]*?\n\[ipv4\]\n/, '[ipv4]\n');

test('dual stack, DHCP and SLAAC on one NIC: ifupdown inet dhcp + inet6 auto, networkd DHCP=ipv4 with IPv6AcceptRA=yes, NetworkManager auto/auto', () => {
  const sb = sandbox();
  const r = sb.run(fixups(V4_DHCP, SLAAC));
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('newroot/etc/network/interfaces.d/ramboot'), '# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP.\nauto eth0\niface eth0 inet dhcp\niface eth0 inet6 auto\n');
  assert.equal(sb.read(NETWORKD), networkd('dhcp, auto6', ['DHCP=ipv4', 'IPv6AcceptRA=yes', 'KeepConfiguration=yes']));
  const nm = sandbox(true);
  assert.equal(nm.run(fixups(V4_DHCP, SLAAC)).status, 0);
  assert.equal(keyfileIp(nm), '[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n');
});

test('dual stack, DHCP and DHCPv6: networkd DHCP=yes; ifupdown inet6 dhcp; NetworkManager [ipv6] method=dhcp; resolv.conf has both DNS servers', () => {
  const sb = sandbox();
  const r = sb.run(fixups(V4_DHCP, DHCP6));
  assert.equal(r.status, 0, r.output);
  assert.match(sb.read('newroot/etc/network/interfaces.d/ramboot'), /^iface eth0 inet dhcp\niface eth0 inet6 dhcp\n$/m);
  assert.equal(sb.read(NETWORKD), networkd('dhcp, dhcp6', ['DHCP=yes', 'IPv6AcceptRA=yes', 'KeepConfiguration=yes']));
  assert.equal(sb.read('newroot/etc/resolv.conf'), '# Written by ramboot from the dhcp setup of eth0.\nnameserver 10.77.0.1\nnameserver fd77::1\n');
  const nm = sandbox(true);
  assert.equal(nm.run(fixups(V4_DHCP, DHCP6)).status, 0);
  assert.equal(keyfileIp(nm), '[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=dhcp\n');
});

test('IPv6 only by DHCPv6: the NIC auto with inet6 dhcp alone (ifupdown-pre masked), networkd DHCP=ipv6, NetworkManager IPv4 disabled; no DHCP for other NICs', () => {
  const sb = sandbox();
  const r = sb.run(fixups(V4_NONE, DHCP6));
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('newroot/etc/network/interfaces.d/ramboot'), '# Written by ramboot at boot: this root came over the network by IPv6 (dhcp6 on eth0).\nauto eth0\niface eth0 inet6 dhcp\n');
  assert.equal(readlinkSync(sb.path('newroot/etc/systemd/system/ifupdown-pre.service')), '/dev/null');
  assert.equal(sb.read(NETWORKD), networkd('dhcp6', ['DHCP=ipv6', 'IPv6AcceptRA=yes', 'KeepConfiguration=yes']));
  assert.equal(sb.exists('newroot/etc/systemd/network/90-ramboot-dhcp.network'), false);
  assert.equal(sb.read('newroot/etc/resolv.conf'), '# Written by ramboot from the IPv6 setup of eth0.\nnameserver fd77::1\n');
  assert.match(r.stdout, /^ramboot: fixups: \/etc\/systemd\/system\/ifupdown-pre\.service -> \/dev\/null, \/etc\/network\/interfaces\.d\/ramboot, \/etc\/systemd\/network\/10-ramboot-boot\.network, \/etc\/resolv\.conf$/m);
  const nm = sandbox(true);
  assert.equal(nm.run(fixups(V4_NONE, DHCP6)).status, 0);
  assert.match(nm.read(KEYFILE), /^# Written by ramboot at boot: the initrd configured this NIC \(eth0, dhcp6\); keep it\.$/m);
  assert.equal(keyfileIp(nm), '[ipv4]\nmethod=disabled\n\n[ipv6]\nmethod=dhcp\n');
  assert.equal(nm.exists('newroot/etc/network/interfaces.d/ramboot'), false);
});

test('IPv6 only by SLAAC: inet6 auto, IPv6AcceptRA=yes, [ipv6] method=auto', () => {
  const sb = sandbox();
  assert.equal(sb.run(fixups(V4_NONE, SLAAC)).status, 0);
  assert.match(sb.read('newroot/etc/network/interfaces.d/ramboot'), /^auto eth0\niface eth0 inet6 auto\n$/m);
  assert.equal(sb.read(NETWORKD), networkd('auto6', ['IPv6AcceptRA=yes', 'KeepConfiguration=yes']));
  assert.equal(sb.exists('newroot/etc/resolv.conf'), false, 'SLAAC brought no DNS server: the image\'s resolv.conf stays');
  const nm = sandbox(true);
  assert.equal(nm.run(fixups(V4_NONE, SLAAC)).status, 0);
  assert.equal(keyfileIp(nm), '[ipv4]\nmethod=disabled\n\n[ipv6]\nmethod=auto\n');
});

test('static IPv6 only: inet6 manual (not auto: nothing to start), networkd the same address, route and DNS kept static, NetworkManager manual with the IPv6 DNS only', () => {
  const sb = sandbox();
  const r = sb.run(fixups(V4_NONE, STATIC6));
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('newroot/etc/network/interfaces.d/ramboot'), '# Written by ramboot at boot: eth0 has fd77::50/64 via fd77::1 from ip=, set in the initrd; the kernel keeps it.\niface eth0 inet6 manual\n');
  assert.equal(sb.exists('newroot/etc/systemd/system/ifupdown-pre.service'), false, 'no auto NIC: ifupdown-pre is left alone');
  assert.equal(sb.read(NETWORKD), networkd('static6', ['Address=fd77::50/64', 'Gateway=fd77::1', 'DNS=fd77::53', 'DNS=10.77.0.1', 'KeepConfiguration=static']));
  const nm = sandbox(true);
  assert.equal(nm.run(fixups(V4_NONE, STATIC6)).status, 0);
  assert.equal(keyfileIp(nm), '[ipv4]\nmethod=disabled\n\n[ipv6]\nmethod=manual\naddress1=fd77::50/64,fd77::1\ndns=fd77::53;\n');
});

test('IPv6 on another NIC than IPv4: only IPv4 is handed over, with a warning; an image that configures inet6 on the NIC keeps its own', () => {
  const sb = sandbox();
  const r = sb.run(fixups(V4_DHCP, SLAAC.replace('RAM_NET6_IFACE=eth0', 'RAM_NET6_IFACE=eth1')));
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: warning: fixups: the IPv6 setup of eth1 is not handed to the root's network manager \(IPv4 is on eth0; one NIC is handed over\)$/m);
  assert.doesNotMatch(sb.read('newroot/etc/network/interfaces.d/ramboot'), /inet6/);
  assert.equal(sb.read(NETWORKD), networkd('dhcp', ['DHCP=ipv4', 'KeepConfiguration=yes']));

  const own = sandbox();
  own.write('newroot/etc/network/interfaces.d/site', 'iface eth0 inet6 static\n    address fd00::9/64\n');
  assert.equal(own.run(fixups(V4_DHCP, SLAAC)).status, 0);
  assert.equal(own.read('newroot/etc/network/interfaces.d/ramboot'), '# Written by ramboot at boot: this root came over the network, so every NIC asks for DHCP.\nauto eth0\niface eth0 inet dhcp\n');
});
