// The IPv6 parts of `ramboot config dnsmasq|nginx` (--ipv6-range, --dns6, a [v6] base URL):
// what they say, that dnsmasq accepts them, and that bad values are refused with a hint. The
// lab boots them in test/boot/pxe-lab-net.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDnsmasqConfig } from '../../src/netboot/dnsmasq-config.ts';
import { renderNginxConfig } from '../../src/netboot/nginx-config.ts';
import { skipWithout } from '../support/require-tool.ts';

const work = mkdtempSync(join(tmpdir(), 'ramboot-ipv6-config-'));
after(() => rmSync(work, { recursive: true, force: true }));
const base = { scriptUrl: 'http://10.0.0.1/boot.ipxe', tftpRoot: '/srv/tftp', interface: 'eth1', dhcpRange: '10.0.0.100,10.0.0.200' };

test('dnsmasq --ipv6-range: RAs (SLAAC) and DHCPv6 from the range, DNS for DHCPv6; accepted by dnsmasq --test', { skip: skipWithout('dnsmasq', ['--version'], 'apt-get install dnsmasq-base') }, () => {
  const conf = renderDnsmasqConfig({ ...base, ipv6Range: 'fd77::100,fd77::1ff', dns6: 'fd77::1' });
  const lines = conf.split('\n');
  assert.ok(lines.includes('enable-ra'));
  assert.ok(lines.includes('dhcp-range=fd77::100,fd77::1ff,slaac,64,1h'));
  assert.ok(lines.includes('dhcp-option=option6:dns-server,[fd77::1]'));
  assert.ok(!renderDnsmasqConfig(base).includes('enable-ra'), 'no IPv6 unless asked');
  const file = join(work, 'dnsmasq.conf');
  writeFileSync(file, conf);
  const r = spawnSync('dnsmasq', ['--test', `--conf-file=${file}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('dnsmasq dhcp6Only: the range without slaac (RAs managed, prefix not autonomous); accepted by dnsmasq --test', { skip: skipWithout('dnsmasq', ['--version'], 'apt-get install dnsmasq-base') }, () => {
  const conf = renderDnsmasqConfig({ ...base, ipv6Range: 'fd77::100,fd77::1ff', dhcp6Only: true });
  const lines = conf.split('\n');
  assert.ok(lines.includes('enable-ra'));
  assert.ok(lines.includes('dhcp-range=fd77::100,fd77::1ff,64,1h'));
  assert.ok(!conf.includes('slaac'));
  const file = join(work, 'dnsmasq-dhcp6.conf');
  writeFileSync(file, conf);
  const r = spawnSync('dnsmasq', ['--test', `--conf-file=${file}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('dnsmasq: a range or DNS server that is not IPv6 is refused with a hint', () => {
  assert.throws(() => renderDnsmasqConfig({ ...base, ipv6Range: 'fd77::100' }), /--ipv6-range 'fd77::100' is not START,END of IPv6 addresses/);
  assert.throws(() => renderDnsmasqConfig({ ...base, ipv6Range: '10.0.0.1,10.0.0.2' }), /is not START,END of IPv6 addresses/);
  assert.throws(() => renderDnsmasqConfig({ ...base, ipv6Range: 'fd77::1,fd77::2\nport=53' }), /is not START,END/);
  assert.throws(() => renderDnsmasqConfig({ ...base, ipv6Range: 'fd77::1,fd77::2', dns6: '10.0.0.1' }), /--dns6 '10\.0\.0\.1' is not an IPv6 address/);
});

test('nginx listens on [::] too with ipv6 or an [IPv6] base URL, IPv4 only otherwise', () => {
  const v4 = renderNginxConfig({ root: '/srv/set', baseUrl: 'http://10.0.0.1/' });
  assert.match(v4, /^ {4}listen 80;$/m);
  assert.doesNotMatch(v4, /listen \[::\]/);
  assert.match(renderNginxConfig({ root: '/srv/set', baseUrl: 'http://10.0.0.1:8080/', ipv6: true }), /^ {4}listen 8080;\n {4}listen \[::\]:8080 ipv6only=on;$/m);
  assert.match(renderNginxConfig({ root: '/srv/set', baseUrl: 'http://[fd77::1]/sets/a/' }), /^ {4}listen \[::\]:80 ipv6only=on;$/m);
});
