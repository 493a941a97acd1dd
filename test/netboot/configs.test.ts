// The boot server configs of `ramboot config`: what each says, that dnsmasq and nginx accept
// them (dnsmasq --test, nginx -t), and how the nginx config really answers (run in a network
// namespace of its own: ranges, cache headers, private dot files). The whole chain is booted in
// test/boot/pxe-lab.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDnsmasqConfig } from '../../src/netboot/dnsmasq-config.ts';
import { renderNginxConfig } from '../../src/netboot/nginx-config.ts';
import { renderSetConfig } from '../../src/netboot/set-configs.ts';
import { createLabNetwork, LAB_SERVER_IP, type LabNetwork } from '../../src/lab/pxe-lab/netns.ts';
import { startNginx, type LabServer } from '../../src/lab/pxe-lab/servers.ts';
import { skipWithout } from '../support/require-tool.ts';

const skipDnsmasq = skipWithout('dnsmasq', ['--version'], 'apt-get install dnsmasq-base');
const skipNginx = skipWithout('nginx', ['-v'], 'apt-get install nginx-light');
const skipRoot = process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root (network namespace)';

let work: string;
let set: string;
const SHA = 'ab'.repeat(32);

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-netboot-'));
  set = join(work, 'set');
  mkdirSync(join(set, '.ramboot-stage-1'), { recursive: true });
  writeFileSync(join(set, 'cmdline.txt'), 'boot=ram ip=dhcp zram_size_pct=50 panic=10\n');
  writeFileSync(join(set, 'rootfs.squashfs'), Buffer.alloc(100_000, 7));
  writeFileSync(join(set, `rootfs-${SHA}.squashfs`), Buffer.alloc(1000, 1));
  writeFileSync(join(set, '.ramboot-stage-1', 'initrd.img'), 'half-built');
});

after(() => rmSync(work, { recursive: true, force: true }));

test('dnsmasq: iPXE clients (user class or option 175) get the script URL, others iPXE over TFTP by architecture', () => {
  const conf = renderDnsmasqConfig({ scriptUrl: 'http://10.0.0.1/boot.ipxe', tftpRoot: '/srv/tftp', interface: 'eth1', dhcpRange: '10.0.0.100,10.0.0.200', router: '10.0.0.254', dns: '10.0.0.53' });
  const lines = conf.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.deepEqual(lines, [
    'port=0',
    'interface=eth1',
    'bind-interfaces',
    'dhcp-range=10.0.0.100,10.0.0.200,1h',
    'dhcp-option=option:router,10.0.0.254',
    'dhcp-option=option:dns-server,10.0.0.53',
    'enable-tftp',
    'tftp-root=/srv/tftp',
    'dhcp-userclass=set:ipxe,iPXE',
    'dhcp-match=set:ipxe,175',
    'dhcp-match=set:efi64,option:client-arch,7',
    'dhcp-match=set:efi64,option:client-arch,9',
    'dhcp-boot=tag:ipxe,http://10.0.0.1/boot.ipxe',
    'dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi',
    'dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe',
    'log-dhcp',
  ]);
});

test('dnsmasq proxy-DHCP: no leases of its own, PXE boot services and the script for iPXE', () => {
  const conf = renderDnsmasqConfig({ scriptUrl: 'http://10.0.0.1/boot.ipxe', tftpRoot: '/srv/tftp', proxySubnet: '10.0.0.0' });
  assert.match(conf, /^dhcp-range=10\.0\.0\.0,proxy$/m);
  assert.doesNotMatch(conf, /dhcp-option=option:router/);
  assert.match(conf, /^dhcp-boot=tag:ipxe,http:\/\/10\.0\.0\.1\/boot\.ipxe$/m);
  assert.match(conf, /^pxe-service=tag:!ipxe,x86PC,"ramboot: load iPXE",undionly$/m);
  assert.match(conf, /^pxe-service=tag:!ipxe,X86-64_EFI,"ramboot: load iPXE",ipxe\.efi$/m);
});

test('dnsmasq: a range and a proxy together, a bad address or a line break are one usage error', () => {
  const base = { scriptUrl: 'http://10.0.0.1/boot.ipxe', tftpRoot: '/srv/tftp' };
  assert.throws(() => renderDnsmasqConfig({ ...base, dhcpRange: '10.0.0.1,10.0.0.9', proxySubnet: '10.0.0.0' }), /either a lease range or a proxy-DHCP subnet/);
  assert.throws(() => renderDnsmasqConfig(base), /either a lease range or a proxy-DHCP subnet/);
  assert.throws(() => renderDnsmasqConfig({ ...base, dhcpRange: '10.0.0.1,10.0.0.256' }), /--dhcp-range end '10\.0\.0\.256' is not an IPv4 address/);
  assert.throws(() => renderDnsmasqConfig({ ...base, dhcpRange: '10.0.0.1' }), /is not START,END/);
  assert.throws(() => renderDnsmasqConfig({ ...base, dhcpRange: '10.0.0.1,10.0.0.9', interface: 'eth0\ndhcp-script=/tmp/x' }), /line break/);
});

test('dnsmasq accepts both variants (dnsmasq --test)', { skip: skipDnsmasq }, () => {
  for (const variant of [{ dhcpRange: '10.0.0.100,10.0.0.200', interface: 'lo' }, { proxySubnet: '10.0.0.0' }]) {
    const file = join(work, 'dnsmasq.conf');
    writeFileSync(file, renderDnsmasqConfig({ scriptUrl: 'http://10.0.0.1/boot.ipxe', tftpRoot: work, ...variant }));
    const r = spawnSync('dnsmasq', ['--test', `--conf-file=${file}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /syntax check OK/);
  }
});

test('iPXE and PXELINUX name the boot NIC (BOOTIF=); rooturl= defaults to the base URL', async () => {
  const ipxe = await renderSetConfig('ipxe', { setDir: set, baseUrl: 'http://10.0.0.1/sets/a/' });
  assert.equal(
    ipxe,
    '#!ipxe\nkernel http://10.0.0.1/sets/a/vmlinuz initrd=initrd.img boot=ram rooturl=http://10.0.0.1/sets/a/rootfs.squashfs ip=dhcp zram_size_pct=50 panic=10 BOOTIF=01-${netX/mac:hexhyp}\ninitrd http://10.0.0.1/sets/a/initrd.img\nboot\n',
  );
  const pxelinux = await renderSetConfig('pxelinux', { setDir: set, baseUrl: 'http://10.0.0.1/sets/a', append: 'rooturl=http://mirror/r.squashfs' });
  assert.match(pxelinux, /^ {2}APPEND boot=ram rooturl=http:\/\/mirror\/r\.squashfs ip=dhcp/m);
  assert.match(pxelinux, /^ {2}IPAPPEND 2$/m);
  const grub = await renderSetConfig('grub', { setDir: set, baseUrl: 'http://10.0.0.1/sets/a' });
  assert.doesNotMatch(grub, /BOOTIF/);
  await assert.rejects(renderSetConfig('ipxe', { setDir: set, baseUrl: 'http://10.0.0.1/', append: 'zram_size_pct=900' }), /zram_size_pct/);
  await assert.rejects(renderSetConfig('ipxe', { setDir: work, baseUrl: 'http://10.0.0.1/' }), /cannot read .*cmdline\.txt/);
});

test('nginx: sendfile, one range, immutable only for sha256 names, dot files private', () => {
  const conf = renderNginxConfig({ root: set, baseUrl: 'http://10.0.0.1:8080/sets/a', accessLog: '/var/log/x.log' });
  assert.match(conf, /^ {4}listen 8080;$/m);
  assert.match(conf, /^ {4}sendfile on;$/m);
  assert.match(conf, /^ {4}max_ranges 1;$/m);
  assert.match(conf, /^ {4}location \/sets\/a\/ \{\n {8}alias "[^"]+\/set\/";$/m);
  assert.match(conf, /location ~ "\[0-9a-f\]\{64\}\[\^\/\]\*\$" \{\n\s+add_header Cache-Control "public, max-age=31536000, immutable" always;/);
  assert.throws(() => renderNginxConfig({ root: 'relative/set', baseUrl: 'http://h/' }), /not an absolute path/);
  assert.throws(() => renderNginxConfig({ root: set, baseUrl: 'https://h/' }), /not an http:\/\/ URL nginx can serve/);
  assert.throws(() => renderNginxConfig({ root: set, baseUrl: 'http://h/a;b' }), /not an http:\/\/ URL/);
});

let net: LabNetwork | undefined;
let nginx: LabServer | undefined;

test('nginx serves the set as configured: 206 ranges, cache headers by name, 404 for dot files', { skip: skipNginx || skipRoot }, async () => {
  const state = join(work, 'state');
  mkdirSync(state);
  const conf = join(state, 'ramboot.conf');
  writeFileSync(conf, renderNginxConfig({ root: set, baseUrl: `http://${LAB_SERVER_IP}/sets/a/`, accessLog: join(state, 'access.log') }));
  net = await createLabNetwork(`ramboot-nginx-test-${process.pid}`);
  try {
    nginx = await startNginx(net, state, conf);
    // One client inside the namespace (the server listens there only) makes every request:
    // status, Cache-Control, Content-Range and body size of each.
    const requests: [string, string][] = [
      ['/sets/a/rootfs.squashfs', ''],
      ['/sets/a/rootfs.squashfs', 'bytes=1000-'],
      ['/sets/a/rootfs.squashfs', 'bytes=0-9,20-29'],
      [`/sets/a/rootfs-${SHA}.squashfs`, ''],
      ['/sets/a/.ramboot-stage-1/initrd.img', ''],
      ['/sets/a/missing', ''],
    ];
    const client = `Promise.all(${JSON.stringify(requests)}.map(([p, range]) => fetch('http://${LAB_SERVER_IP}' + p, { headers: range ? { range } : {} }).then(async (r) => ({ status: r.status, cache: r.headers.get('cache-control'), range: r.headers.get('content-range'), bytes: (await r.arrayBuffer()).byteLength })))).then((a) => console.log(JSON.stringify(a)))`;
    const [whole, ranged, multi, immutable, staged, missing] = JSON.parse(execFileSync('ip', net.exec([process.execPath, '-e', client]).slice(1), { encoding: 'utf8' }));
    assert.deepEqual(whole, { status: 200, cache: 'no-cache', range: null, bytes: 100_000 });
    assert.deepEqual(ranged, { status: 206, cache: 'no-cache', range: 'bytes 1000-99999/100000', bytes: 99_000 });
    // max_ranges 1: a multi-range request gets the whole file, not a multipart body.
    assert.deepEqual(multi, { status: 200, cache: 'no-cache', range: null, bytes: 100_000 });
    assert.deepEqual(immutable, { status: 200, cache: 'public, max-age=31536000, immutable', range: null, bytes: 1000 });
    assert.equal(staged.status, 404);
    assert.equal(missing.status, 404);
  } finally {
    await nginx?.stop();
    await net.destroy();
  }
});
