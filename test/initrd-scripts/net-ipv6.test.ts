// lib/net-ipv6.sh and lib/proxy.sh under busybox sh, with ip/hostname/udhcpc6 stubbed: SLAAC
// read back from `ip -6 addr` (tentative addresses skipped, junk refused), the bracketed static
// form, DHCPv6 leases through lib/udhcpc.sh, the proxy environment, and the IPv6/proxy checks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(cmdline: string): Sandbox {
  const sb = new Sandbox({ cmdline });
  sandboxes.push(sb);
  // `ip -6 addr show dev NIC` prints ip6-NIC-<call number>, else ip6-NIC (the state it settles in).
  sb.stub(
    'ip',
    `if [ "$1 $2 $3 $4" = "-6 addr show dev" ]; then
  n=$(cat "$RAM_PREFIX/ip6-count-$5" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >"$RAM_PREFIX/ip6-count-$5"
  f="$RAM_PREFIX/ip6-$5-$n"; [ -e "$f" ] || f="$RAM_PREFIX/ip6-$5"
  cat "$f" 2>/dev/null
fi`,
  );
  return sb;
}
const NET = 'ram_stage_setup >/dev/null; ram_stage_net';
const FAST = { RAM_NIC_WAIT_CS: '20', RAM_LINK_WAIT_CS: '20', RAM_RA_WAIT_CS: '50', RAM_DHCP_TRIES: '1', RAM_DHCP_GAP: '1' };
const head = (n: number, nic = 'eth0') => `${n}: ${nic}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast qlen 1000\n`;
const LINK_LOCAL = '    inet6 fe80::5054:ff:fe77:101/64 scope link \n       valid_lft forever preferred_lft forever\n';

test('ip=auto6: IPv6 switched on for the NIC, link up, the SLAAC address once it left DAD', () => {
  const sb = sandbox('ip=auto6');
  sb.nic('eth0');
  for (const f of ['disable_ipv6', 'accept_ra', 'autoconf']) sb.write(`proc/sys/net/ipv6/conf/eth0/${f}`, f === 'disable_ipv6' ? '1\n' : '0\n');
  sb.write('ip6-eth0-1', head(2) + LINK_LOCAL);
  sb.write('ip6-eth0-2', `${head(2)}    inet6 fd77::5054:ff:fe77:101/64 scope global tentative dynamic \n${LINK_LOCAL}`);
  sb.write('ip6-eth0', `${head(2)}    inet6 fd77::5054:ff:fe77:101/64 scope global dynamic \n       valid_lft 3599sec preferred_lft 3599sec\n${LINK_LOCAL}`);
  const r = sb.run(`${NET}; echo "v4iface=[$RAM_NET_IFACE]"`, FAST);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('ip').filter((l) => !l.includes('addr show')), ['ip link set dev eth0 up']);
  assert.equal(sb.callLines('ip').filter((l) => l.includes('addr show')).length, 3, 'polled past the link-local-only and tentative states');
  assert.equal(sb.read('proc/sys/net/ipv6/conf/eth0/disable_ipv6'), '0\n');
  assert.equal(sb.read('proc/sys/net/ipv6/conf/eth0/accept_ra'), '1\n');
  assert.equal(sb.read('proc/sys/net/ipv6/conf/eth0/autoconf'), '1\n');
  assert.match(r.stdout, /^ramboot: net: eth0 fd77::5054:ff:fe77:101\/64 \(auto6\)$/m);
  assert.match(r.stdout, /^v4iface=\[\]$/m, 'the IPv4 globals stay empty: fixups write no v4 config for it');
});

test('ip=auto6: an address that is not one (from the kernel, but checked anyway) is never used; the wait is bounded', () => {
  const sb = sandbox('ip=auto6');
  sb.nic('eth0');
  sb.write('ip6-eth0', `${head(2)}    inet6 fd77::5054:ff:fe77:101;reboot/64 scope global dynamic \n    inet6 fd77::1/129 scope global \n`);
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: net: no IPv6 address from a router advertisement on eth0 within 0.50s (does a router send RAs with an autonomous prefix? ip=auto6)']);
});

test('static IPv6 in brackets: address, default route, DNS (v6 and v4), hostname, DAD waited for', () => {
  const sb = sandbox('ip=[fd77::50]::[fd77::1]:64:node6:eth0:none:[fd77::53]:10.77.0.1');
  sb.nic('eth0');
  sb.write('proc/sys/net/ipv6/conf/eth0/autoconf', '1\n');
  sb.write('ip6-eth0-1', `${head(2)}    inet6 fd77::50/64 scope global tentative \n`);
  sb.write('ip6-eth0', `${head(2)}    inet6 fd77::50/64 scope global \n`);
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('ip', 'hostname').filter((l) => !l.includes('addr show')), [
    'hostname node6',
    'ip link set dev eth0 up',
    'ip -6 addr add fd77::50/64 dev eth0',
    'ip -6 route add default via fd77::1 dev eth0',
  ]);
  assert.equal(sb.read('etc/resolv.conf'), '# Written by ramboot from the IPv6 setup of eth0.\nnameserver fd77::53\nnameserver 10.77.0.1\n');
  assert.match(r.stdout, /^ramboot: net: eth0 fd77::50\/64 via fd77::1 dns fd77::53 10\.77\.0\.1 \(static6\)$/m);
  assert.equal(sb.read('proc/sys/net/ipv6/conf/eth0/autoconf'), '0\n', 'no SLAAC address next to the static one');
});

test('static IPv6 form: bad client, prefix, gateway and brackets each stop the boot with one line', () => {
  const cases: [string, string][] = [
    ['ip=[fd77::5g]:::64::eth0:none', "net: ip=[fd77::5g]:::64::eth0:none: client 'fd77::5g' is not an IPv6 address in [brackets]"],
    ['ip=[fd77::50]:::129::eth0:none', "net: ip=[fd77::50]:::129::eth0:none: '129' is not a prefix length 0..128"],
    ['ip=[fd77::50]::[10.0.0.1]:64::eth0:none', "net: ip=[fd77::50]::[10.0.0.1]:64::eth0:none: gateway '10.0.0.1' is not an IPv6 address"],
    ['ip=[fd77::50:::64::eth0:none', 'net: ip=[fd77::50:::64::eth0:none: a \'[\' without its \']\''],
    ['ip=[fd77::50]x:::64::eth0:none', "net: ip=[fd77::50]x:::64::eth0:none: ']' must end a field (then ':')"],
    ['ip=[fd77::50]:::64::eth0:dhcp7', "net: ip=[fd77::50]:::64::eth0:dhcp7: autoconf 'dhcp7' is not none, static, auto6 or dhcp6"],
  ];
  for (const [cmdline, message] of cases) {
    const sb = sandbox(cmdline);
    sb.nic('eth0');
    const r = sb.run(NET, FAST);
    assert.equal(r.status, 1, cmdline);
    assert.deepEqual(errorLines(r.output), [`ramboot: error: ${message}`], cmdline);
  }
});

test('ip=dhcp6 with a busybox that lacks udhcpc6 (Debian 12\'s) says so and names the way out', () => {
  const sb = sandbox('ip=dhcp6');
  sb.nic('eth0');
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1);
  assert.match(errorLines(r.output)[0] ?? '', /needs busybox's udhcpc6, which this initrd's busybox lacks .*use ip=auto6 \(SLAAC\)/);
});

/** A udhcpc6 stand-in driving the real lib/udhcpc.sh with the lease's environment. */
function fakeUdhcpc6(sb: Sandbox, env: Record<string, string>): void {
  sb.stub(
    'udhcpc6',
    `while [ $# -gt 0 ]; do case $1 in -i) nic=$2; shift ;; -s) script=$2; shift ;; esac; shift; done
export interface="$nic" ${Object.entries(env).map(([k, v]) => `${k}='${v}'`).join(' ')}
/bin/busybox sh -c '. "$RAM_STUBFUNCS"; . "$0"' "$script" deconfig
/bin/busybox sh -c '. "$RAM_STUBFUNCS"; . "$0"' "$script" bound`,
  );
}

test('ip=dhcp6 with udhcpc6: after the link-local address left DAD, the lease through lib/udhcpc.sh, address (in udhcpc6\'s full form) as /128, DNS checked, junk dropped', () => {
  const sb = sandbox('ip=dhcp6');
  sb.nic('eth0');
  // No link-local address yet (no carrier), then a tentative one: udhcpc6 must not start before it is usable.
  sb.write('ip6-eth0-1', head(2));
  sb.write('ip6-eth0-2', `${head(2)}    inet6 fe80::5054:ff:fe77:101/64 scope link tentative \n`);
  sb.write('ip6-eth0', `${head(2)}    inet6 fd77::1a2/128 scope global \n${LINK_LOCAL}`);
  // busybox 1.37's udhcpc6 writes every group in full.
  fakeUdhcpc6(sb, { ipv6: 'fd77:0000:0000:0000:0000:0000:0000:01a2', dns: 'fd77:0000:0000:0000:0000:0000:0000:0001 not;an;address 10.77.0.1', search: 'lab.example', lease: '3600' });
  const r = sb.run(NET, { ...FAST, RAM_DHCP_TRIES: '5' });
  assert.equal(r.status, 0, r.output);
  assert.ok(sb.callLines('udhcpc6').some((l) => /^udhcpc6 -f -q -n -t 5 -T 1 -i eth0 -s \S+\/udhcpc\.sh$/.test(l)), sb.callLines('udhcpc6').join('\n'));
  assert.ok(Number(sb.read('ip6-count-eth0')) >= 3, 'polled past the no-address and tentative states before udhcpc6');
  assert.ok(sb.callLines('ip').includes('ip -6 addr add fd77::1a2/128 dev eth0 valid_lft 3600 preferred_lft 3600'), 'the lease\'s lifetime, as a DHCPv6 client in the root would set it');
  assert.equal(sb.read('etc/resolv.conf'), '# Written by ramboot from the IPv6 setup of eth0.\nsearch lab.example\nnameserver fd77::1\nnameserver 10.77.0.1\n');
  assert.match(r.stdout, /^ramboot: net: eth0 fd77::1a2\/128 dns fd77::1 10\.77\.0\.1 \(dhcp6\)$/m);
});

test('ip=dhcp6: a lease whose address is not one stops the boot before ip sees it', () => {
  const sb = sandbox('ip=dhcp6');
  sb.nic('eth0');
  sb.write('ip6-eth0', head(2) + LINK_LOCAL);
  fakeUdhcpc6(sb, { ipv6: 'fd77::1/64 dev lo', lease: '08' });
  const r = sb.run(NET, { ...FAST, RAM_DHCP_TRIES: '5' });
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ["ramboot: error: net: eth0: DHCPv6 address 'fd77::1/64 dev lo' is not an IPv6 address (dhcp6)"]);
  assert.ok(!sb.callLines('ip').some((l) => l.includes('addr add')));
});

test('ip=dhcp6: a lease time that is not a number (or 0) is dropped: the address is added without a lifetime', () => {
  for (const lease of ['08', '0', '1;reboot', '99999999999']) {
    const sb = sandbox('ip=dhcp6');
    sb.nic('eth0');
    sb.write('ip6-eth0', `${head(2)}    inet6 fd77::1a2/128 scope global \n${LINK_LOCAL}`);
    fakeUdhcpc6(sb, { ipv6: 'fd77::1a2', lease });
    const r = sb.run(NET, { ...FAST, RAM_DHCP_TRIES: '5' });
    assert.equal(r.status, 0, r.output);
    assert.ok(sb.callLines('ip').includes('ip -6 addr add fd77::1a2/128 dev eth0'), `${lease}: ${sb.callLines('ip').join(' | ')}`);
  }
});

test('ip=dhcp6: no link-local address (no carrier) stops the boot with one line before udhcpc6 runs; a udhcpc6 that gets no lease has its last word in the error', () => {
  const sb = sandbox('ip=dhcp6');
  sb.nic('eth0');
  sb.write('ip6-eth0', head(2));
  fakeUdhcpc6(sb, {});
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: net: no IPv6 link-local address on eth0 after 0.50s, which DHCPv6 sends from (no carrier? IPv6 disabled, ipv6.disable=1?)']);
  assert.deepEqual(sb.callLines('udhcpc6'), []);

  const silent = sandbox('ip=dhcp6');
  silent.nic('eth0');
  silent.write('ip6-eth0', head(2) + LINK_LOCAL);
  // What busybox 1.37's udhcpc6 says when nobody answers; then it exits, and no event script
  // runs here: the race ends when the client is gone, not at its deadline (6 s on the fake
  // clock, which starts at 12.34).
  silent.stub('udhcpc6', `echo 'udhcpc6: started, v1.37.0'; echo 'udhcpc6: sending discover'`);
  const r2 = silent.run(NET, FAST);
  assert.equal(r2.status, 1);
  assert.deepEqual(errorLines(r2.output), ['ramboot: error: net: no DHCPv6 lease on eth0 within 1s (is a DHCPv6 server answering? routers must send RAs with the M flag); eth0: udhcpc6: sending discover']);
  const uptime = Number(readFileSync(silent.path('proc/uptime'), 'utf8').split(' ')[0]);
  assert.ok(uptime < 17, `the wait ended with the client, not at the deadline (fake uptime ${uptime} s)`);
});

test('ip=dhcp,auto6 (dual stack) runs both in turn; an unknown word in the list stops the boot', () => {
  const sb = sandbox('ip=auto6,dhcp9');
  sb.nic('eth0');
  sb.write('ip6-eth0', `${head(2)}    inet6 fd77::5054:ff:fe77:101/64 scope global dynamic \n`);
  const r = sb.run(NET, FAST);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /ramboot: net: eth0 fd77::5054:ff:fe77:101\/64 \(auto6\)/, 'auto6 ran first');
  assert.deepEqual(errorLines(r.output), ["ramboot: error: net: ip=auto6,dhcp9: 'dhcp9' is not dhcp, dhcp6 or auto6"]);
});

test('ram_check_ipv6 accepts the text forms and refuses the rest', () => {
  const sb = sandbox('');
  const good = ['::', '::1', 'fd77::1', 'fd77::', 'fe80::5054:ff:fe77:101', '2001:db8:0:0:0:0:0:1', '::ffff:10.0.0.1', 'FD77::A'];
  const bad = ['', 'fd77', ':1', '1:', 'fd77:::1', '1::2::3', 'fd77::12345', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', 'fd77::1/64', 'fd77::1%eth0', 'fd77::10.0.0.256', '::1.2.3.4:5', 'g::1'];
  const script = [...good.map((a) => `ram_check_ipv6 '${a}' && echo 'ok ${a}' || echo 'NO ${a}'`), ...bad.map((a) => `ram_check_ipv6 '${a}' && echo 'YES ${a}' || echo 'refused ${a}'`)].join('\n');
  const r = sb.run(script);
  assert.equal(r.status, 0, r.output);
  assert.doesNotMatch(r.stdout, /^(NO|YES) /m, r.stdout);
});

test('ram_ipv6_compact writes udhcpc6\'s full form as ip(8) does (RFC 5952): zeros dropped, the first longest zero run as ::', () => {
  const sb = sandbox('');
  const cases: [string, string][] = [
    ['fd77:0000:0000:0000:0000:0000:0000:01cb', 'fd77::1cb'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['fd77:0000:0000:0000:0000:0000:0000:0000', 'fd77::'],
    ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'],
    ['fe80:0000:0000:0000:5054:00ff:fe77:0101', 'fe80::5054:ff:fe77:101'],
    ['fd77::1', 'fd77::1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
  ];
  const r = sb.run(cases.map(([a]) => `ram_ipv6_compact '${a}'; echo "$RAM_IP6_SHORT"`).join('\n'));
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(r.stdout.trim().split('\n'), cases.map(([, short]) => short));
});

test('proxy=: checked, then http_proxy/https_proxy for wget and curl; a kernel-given http_proxy is replaced', () => {
  const sb = sandbox('ip=off proxy=http://[fd77::1]:3128');
  const r = sb.run(`${NET}; echo "http=$http_proxy https=$https_proxy"; sh -c 'echo "child=$http_proxy"'`, { http_proxy: 'http://evil:1/', HTTPS_PROXY: 'http://evil:2/' });
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: net: http:\/\/ and https:\/\/ fetches go through the proxy http:\/\/\[fd77::1\]:3128$/m);
  assert.match(r.stdout, /^http=http:\/\/\[fd77::1\]:3128 https=http:\/\/\[fd77::1\]:3128$/m);
  assert.match(r.stdout, /^child=http:\/\/\[fd77::1\]:3128$/m, 'exported to wget');

  const none = sandbox('ip=off');
  const r2 = none.run(`${NET}; echo "http=[\${http_proxy:-}] HTTPS=[\${HTTPS_PROXY:-}]"`, { http_proxy: 'http://evil:1/', HTTPS_PROXY: 'http://evil:2/' });
  assert.match(r2.stdout, /^http=\[\] HTTPS=\[\]$/m, 'no proxy= means no proxy, whatever the environment held');
});

test('proxy= with an https:// rooturl and no curl in the initrd: one error line naming --hook curl, nothing sent; http:// still goes through wget', () => {
  const conf = { baked: { rootsha256: 'a'.repeat(64) }, facts: { KVER: '6.1.0-test', ROOTSIZE: '', VERSION: 't' } };
  const sb = new Sandbox({ cmdline: 'ip=off proxy=http://10.77.0.1:3128 rooturl=https://10.77.1.1/rootfs.squashfs,https://[fd77::1]/rootfs.squashfs', conf });
  sandboxes.push(sb);
  sb.stub('wget', 'exit 1');
  sb.stub('nc', 'exit 1');
  const r = sb.run(`${NET}; ram_stage_fetch`);
  assert.equal(r.status, 1);
  const cause = 'https:// through proxy=http://10.77.0.1:3128 needs curl, which this initrd lacks: busybox wget cannot tunnel TLS through a proxy (it sends no CONNECT); build the initrd with --hook curl';
  assert.deepEqual(errorLines(r.output), [`ramboot: error: cannot download the root image: https://10.77.1.1/rootfs.squashfs: ${cause}; https://[fd77::1]/rootfs.squashfs: ${cause}`]);
  assert.deepEqual(sb.callLines('wget'), [], 'no request left the machine, not even one straight to the origin');
  assert.deepEqual(sb.callLines('nc'), []);

  const plain = new Sandbox({ cmdline: 'ip=off proxy=http://10.77.0.1:3128 rooturl=http://10.77.1.1/rootfs.squashfs', conf });
  sandboxes.push(plain);
  plain.stub('wget', 'echo "proxy=$http_proxy" >&2; exit 1');
  plain.run(`${NET}; ram_stage_fetch`, { RAM_FETCH_TRIES: '1' });
  assert.ok(plain.callLines('wget').length > 0, 'an http:// URL is wget\'s, through the proxy');
});

test('http_proxy= on the command line is proxy= (and checked like it)', () => {
  const sb = sandbox('ip=off http_proxy=http://proxy.lab:8080/');
  const r = sb.run(`${NET}; echo "http=$http_proxy"`);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^http=http:\/\/proxy\.lab:8080\/$/m);
  const bad = sandbox('ip=off http_proxy=http://u:p@proxy.lab:8080');
  const r2 = bad.run('ram_stage_setup; ram_stage_net');
  assert.equal(r2.status, 1);
  assert.match(errorLines(r2.output)[0] ?? '', /^ramboot: error: proxy=http:\/\/u:p@proxy\.lab:8080: use http:\/\/HOST\[:PORT\]/);
});
