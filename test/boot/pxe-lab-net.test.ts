// IPv6 and a forward proxy through the real netboot chain (`ramboot lab --ipv6 / --proxy`):
// firmware PXE, dnsmasq, iPXE and nginx as in pxe-lab.test.ts, then the ram script's own network
// setup. Each test asserts from the guest's console that the real init ran and how the network
// came up, and from the servers' logs that the image went the way it should: over IPv6 from
// nginx (by an AAAA-only name, and by a [literal]), or through tinyproxy from an origin address
// the guest has no route to. With CI=true a missing QEMU, dnsmasq, nginx or tinyproxy fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listNamespaces } from '../../src/lab/pxe-lab/netns.ts';
import { LAB_NAME6 } from '../../src/lab/pxe-lab/lab-ipv6.ts';
import { proxyRequests } from '../../src/lab/pxe-lab/lab-proxy.ts';
import { startLab, type Lab } from '../../src/lab/pxe-lab/run-lab.ts';
import { skipWithout } from '../support/require-tool.ts';
import { buildSet, type BuiltSet } from './image-set.ts';
import { assertRealInit } from './lab-asserts.ts';
import { skipLab } from './lab-skip.ts';

const skip = skipLab || skipWithout('tinyproxy', ['-v'], 'apt-get install tinyproxy-bin');

const BOOT_MS = 240_000;
const IMAGE = 'pxe-lab-net';
// The SLAAC address of the lab's client 1 (MAC 52:54:00:77:01:01): fd77::/64 and the EUI-64.
const SLAAC1 = 'fd77::5054:ff:fe77:101';
let set: BuiltSet;
let rootBytes: number;

before(async () => {
  if (skip) return;
  set = await buildSet(IMAGE);
  rootBytes = statSync(join(set.out, 'rootfs.squashfs')).size;
});

after(() => set?.cleanup());

async function bootOne(lab: Lab): Promise<string> {
  const guest = lab.guests[0]!;
  await guest.waitFor(/RAMBOOT-DONE/, BOOT_MS);
  return guest.output();
}


/** nginx access log lines (format `ramboot`): address, request, status, bytes, user agent. */
function accessLog(lab: Lab): { ip: string; request: string; status: number; bytes: number; ua: string }[] {
  return readFileSync(lab.accessLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\S+) "([^"]*)" (\d+) (\d+) range="[^"]*" ua="([^"]*)"$/.exec(line);
      assert.ok(m, `access log line in the generated format: ${line}`);
      return { ip: m[1]!, request: m[2]!, status: Number(m[3]), bytes: Number(m[4]), ua: m[5]! };
    });
}

const wholeRoot = (l: ReturnType<typeof accessLog>[number]) => l.request === 'GET /rootfs.squashfs HTTP/1.1' && l.status === 200 && l.bytes === rootBytes;

test('IPv6, dual stack: DHCPv4 lease and a SLAAC address; the image fetched over IPv6 by a name with only an AAAA record', { skip }, async () => {
  const started = Date.now();
  const lab = await startLab({ setDir: set.out, ipv6: true });
  try {
    const output = await bootOne(lab);
    assertRealInit(output, IMAGE, set.rootSha);
    assert.match(output, /ramboot: net: eth0 10\.77\.0\.\d+\/24 dns 10\.77\.0\.1 \(dhcp\)/, 'the IPv4 lease names the lab DNS server');
    assert.match(output, new RegExp(`ramboot: net: eth0 ${SLAAC1}/64 \\(auto6\\)`), 'the kernel formed the SLAAC address from dnsmasq\'s RA');
    assert.match(output, new RegExp(`ramboot: fetch: [\\d.]+ MiB from http://${LAB_NAME6.replaceAll('.', '\\.')}/rootfs\\.squashfs`));
    assert.match(readFileSync(lab.dnsLog!, 'utf8'), new RegExp(`query\\[AAAA\\] ${LAB_NAME6.replaceAll('.', '\\.')} from 10\\.77\\.0\\.\\d+`), 'the guest asked the lab DNS for the AAAA record');
    const log = accessLog(lab);
    assert.ok(log.some((l) => l.ip === SLAAC1 && wholeRoot(l) && l.ua.startsWith('Wget')), `busybox wget got the whole image from nginx over IPv6, from the SLAAC address: ${JSON.stringify(log.filter((l) => l.request.includes('rootfs')))}`);
    assert.ok(!log.some((l) => l.request.includes('rootfs') && l.ip.startsWith('10.77.')), 'no part of the image went over IPv4');
  } finally {
    await lab.close();
  }
  console.log(`# IPv6 dual-stack lab boot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('IPv6 only: ip=auto6 and rooturl=http://[fd77::1]/ (a bracketed literal), no IPv4 setup in the ram script', { skip }, async () => {
  const started = Date.now();
  const lab = await startLab({ setDir: set.out, ipv6: true, append: 'ip=auto6 rooturl=http://[fd77::1]/rootfs.squashfs' });
  try {
    const output = await bootOne(lab);
    assertRealInit(output, IMAGE, set.rootSha);
    assert.match(output, new RegExp(`ramboot: net: eth0 ${SLAAC1}/64 \\(auto6\\)`));
    assert.doesNotMatch(output, /ramboot: net: eth0 10\.77\.0\.\d+/, 'the ram script set up no IPv4 address');
    assert.match(output, /ramboot: fetch: [\d.]+ MiB from http:\/\/\[fd77::1\]\/rootfs\.squashfs/);
    assert.ok(accessLog(lab).some((l) => l.ip === SLAAC1 && wholeRoot(l)), 'nginx served the image to the SLAAC address');
  } finally {
    await lab.close();
  }
  console.log(`# IPv6-only lab boot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('static IPv6 in the kernel form with brackets: address, gateway, DNS, host; the image from [fd77::1]', { skip }, async () => {
  const started = Date.now();
  const lab = await startLab({ setDir: set.out, ipv6: true, append: 'ip=[fd77::50]::[fd77::1]:64:node6:eth0:none:[fd77::1] rooturl=http://[fd77::1]/rootfs.squashfs' });
  try {
    const output = await bootOne(lab);
    assertRealInit(output, IMAGE, set.rootSha);
    assert.match(output, /ramboot: net: eth0 fd77::50\/64 via fd77::1 dns fd77::1 \(static6\)/);
    assert.doesNotMatch(output, /ramboot: net: eth0 10\.77\.0\.\d+/, 'the ram script set up no IPv4 address');
    assert.ok(accessLog(lab).some((l) => l.ip === 'fd77::50' && wholeRoot(l)), 'nginx served the image to the static address (it had left DAD)');
  } finally {
    await lab.close();
  }
  console.log(`# static IPv6 lab boot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('proxy=: the image comes through tinyproxy from an origin the guest cannot route to; nothing left after', { skip }, async () => {
  const started = Date.now();
  const lab = await startLab({ setDir: set.out, proxy: true });
  let pids: number[] = [];
  try {
    pids = execFileSync('ip', ['netns', 'pids', lab.namespace], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    const output = await bootOne(lab);
    assertRealInit(output, IMAGE, set.rootSha);
    assert.match(output, /ramboot: net: http:\/\/ and https:\/\/ fetches go through the proxy http:\/\/10\.77\.0\.1:3128/);
    const lease = /ramboot: net: eth0 (10\.77\.0\.\d+)\/24 \(dhcp\)/.exec(output);
    assert.ok(lease, 'a DHCP lease without a router: 10.77.1.1 is unreachable for the guest itself');
    assert.match(output, /ramboot: fetch: [\d.]+ MiB from http:\/\/10\.77\.1\.1\/rootfs\.squashfs/);
    const requests = proxyRequests(lab.proxyLog!);
    assert.ok(requests.includes('GET http://10.77.1.1/rootfs.squashfs HTTP/1.1'), `tinyproxy got the guest's GET: ${JSON.stringify(requests)}`);
    const roots = accessLog(lab).filter((l) => l.request === 'GET /rootfs.squashfs HTTP/1.1');
    assert.ok(roots.some((l) => l.ip === '10.77.1.1' && wholeRoot(l)), `nginx served the whole image to the proxy (from the origin address): ${JSON.stringify(roots)}`);
    assert.ok(!roots.some((l) => l.ip === lease[1]), 'never to the guest directly');
  } finally {
    await lab.close();
  }
  assert.ok(!(await listNamespaces()).includes(lab.namespace), 'namespace removed');
  for (const pid of pids) {
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    assert.ok(!alive || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('tinyproxy'), `tinyproxy ${pid} stopped`);
  }
  console.log(`# proxy lab boot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
