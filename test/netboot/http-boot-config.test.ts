// The UEFI HTTP Boot stanza of `ramboot config dnsmasq` (src/netboot/dnsmasq-config.ts): written
// for a set that has ramboot.efi, not for one without; the PXE/iPXE lines then exclude the HTTP
// clients; dnsmasq accepts the file. The stanza is booted in test/boot/uefi-http.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDnsmasqConfig } from '../../src/netboot/dnsmasq-config.ts';
import { renderSetConfig } from '../../src/netboot/set-configs.ts';
import { skipWithout } from '../support/require-tool.ts';

const skipDnsmasq = skipWithout('dnsmasq', ['--version'], 'apt-get install dnsmasq-base');
const base = { scriptUrl: 'http://10.0.0.1/sets/a/boot.ipxe', tftpRoot: '/srv/tftp' };
const URL = 'http://10.0.0.1/sets/a/ramboot.efi';
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-hbconf-'));
  for (const set of ['with-uki', 'without']) {
    mkdirSync(join(work, set));
    writeFileSync(join(work, set, 'cmdline.txt'), 'boot=ram ip=dhcp\n');
  }
  writeFileSync(join(work, 'with-uki', 'ramboot.efi'), 'MZ');
});

after(() => rmSync(work, { recursive: true, force: true }));

const lines = (conf: string) => conf.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

test('dnsmasq: HTTPClient firmware gets option 60 and the ramboot.efi URL; the ram script\'s udhcpc the URL; PXE lines skip both', () => {
  const conf = renderDnsmasqConfig({ ...base, dhcpRange: '10.0.0.100,10.0.0.200', httpBootUrl: URL });
  const boot = lines(conf).filter((l) => /^(dhcp-boot|dhcp-vendorclass|dhcp-option-force)=/.test(l));
  assert.deepEqual(boot, [
    'dhcp-boot=tag:!httpboot,tag:!udhcp,tag:ipxe,http://10.0.0.1/sets/a/boot.ipxe',
    'dhcp-boot=tag:!httpboot,tag:!udhcp,tag:!ipxe,tag:efi64,ipxe.efi',
    'dhcp-boot=tag:!httpboot,tag:!udhcp,tag:!ipxe,tag:!efi64,undionly.kpxe',
    'dhcp-vendorclass=set:httpboot,HTTPClient',
    'dhcp-vendorclass=set:udhcp,udhcp',
    'dhcp-option-force=tag:httpboot,60,HTTPClient',
    `dhcp-boot=tag:httpboot,${URL}`,
    `dhcp-boot=tag:udhcp,${URL}`,
  ]);
  // Proxy-DHCP cannot answer HTTP clients: the file says what the site DHCP server must send.
  const proxy = renderDnsmasqConfig({ ...base, proxySubnet: '10.0.0.0', httpBootUrl: URL });
  assert.doesNotMatch(proxy, /^dhcp-vendorclass=set:httpboot/m);
  assert.match(proxy, /^# UEFI HTTP Boot needs the site DHCP server: vendor class \(option 60\) "HTTPClient" and$/m);
  assert.throws(() => renderDnsmasqConfig({ ...base, dhcpRange: '10.0.0.100,10.0.0.200', httpBootUrl: `http://10.0.0.1/${'a'.repeat(120)}/ramboot.efi` }), /longer than the 127 bytes of DHCP's boot file field/);
});

test('ramboot config dnsmasq writes the stanza for a set with ramboot.efi only', async () => {
  const opts = { baseUrl: 'http://10.0.0.1/sets/a/', dhcpRange: '10.0.0.100,10.0.0.200' };
  const withUki = await renderSetConfig('dnsmasq', { ...opts, setDir: join(work, 'with-uki') });
  assert.match(withUki, /^dhcp-boot=tag:httpboot,http:\/\/10\.0\.0\.1\/sets\/a\/ramboot\.efi$/m);
  const without = await renderSetConfig('dnsmasq', { ...opts, setDir: join(work, 'without') });
  assert.doesNotMatch(without, /httpboot|ramboot\.efi/);
  assert.match(without, /^dhcp-boot=tag:ipxe,http:\/\/10\.0\.0\.1\/sets\/a\/boot\.ipxe$/m, 'the PXE lines stay as they were');
});

test('dnsmasq accepts the stanza (dnsmasq --test)', { skip: skipDnsmasq }, () => {
  for (const variant of [{ dhcpRange: '10.0.0.100,10.0.0.200', interface: 'lo' }, { proxySubnet: '10.0.0.0' }]) {
    const file = join(work, 'dnsmasq.conf');
    writeFileSync(file, renderDnsmasqConfig({ ...base, tftpRoot: work, httpBootUrl: URL, ...variant }));
    const r = spawnSync('dnsmasq', ['--test', `--conf-file=${file}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /syntax check OK/);
  }
});
