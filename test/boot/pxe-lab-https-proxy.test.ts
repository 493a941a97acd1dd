// https:// through a forward proxy, booted through the real netboot chain (`ramboot lab --proxy
// --origin-cert/--origin-key`): the origin 10.77.1.1, which the guest has no route to, serves the
// set over https with a certificate from a CA made for this run, and the set's initrd has the curl
// hook from a root that trusts that CA and nothing else. busybox wget cannot do this (it sends no
// CONNECT); curl tunnels through tinyproxy with CONNECT and checks the certificate. The test
// asserts from tinyproxy's log that the fetch was a CONNECT to 10.77.1.1:443 (so the TLS ran end
// to end through the tunnel, not to the proxy), from the https origin's log that the image came
// from the proxy's side, and from the guest's console that curl fetched it and the real init ran.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxyRequests } from '../../src/lab/pxe-lab/lab-proxy.ts';
import { startLab } from '../../src/lab/pxe-lab/run-lab.ts';
import { skipWithout } from '../support/require-tool.ts';
import { rootWithCurlTrustingTestCa } from '../support/test-ca.ts';
import { buildSet, type BuiltSet } from './image-set.ts';
import { assertRealInit, keptConsole } from './lab-asserts.ts';
import { skipLab } from './lab-skip.ts';

const skip = skipLab || skipWithout('tinyproxy', ['-v'], 'apt-get install tinyproxy-bin') || skipWithout('curl', ['--version'], 'apt-get install curl');

const BOOT_MS = 360_000;
const IMAGE = 'pxe-lab-tls';
let set: BuiltSet;
let rootBytes: number;
let tls: { cert: string; key: string };
/** The same set with an initrd built without the curl hook (busybox wget only). */
let noCurlSet: string;

before(async () => {
  if (skip) return;
  set = await buildSet(IMAGE);
  rootBytes = statSync(join(set.out, 'rootfs.squashfs')).size;
  // The root gets this machine's curl and trusts only this run's CA; the set's initrd is then
  // rebuilt from it with the curl hook (the rootfs, and so its pinned sha256, stay the same).
  const root = join(set.work, 'root');
  const certs = join(set.work, 'certs');
  const ca = await rootWithCurlTrustingTestCa(root, certs);
  const issued = ca.issue('origin', 'IP:10.77.1.1');
  tls = { cert: join(certs, 'origin-chain.pem'), key: join(certs, 'origin-key.pem') };
  writeFileSync(tls.cert, issued.cert);
  writeFileSync(tls.key, issued.key);
  const initrd = (out: string, more: string[]) =>
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'initrd', '--root', root, '-o', out, '--rootsha256', set.rootSha, ...more], { stdio: ['ignore', 'ignore', 'inherit'] });
  noCurlSet = join(set.work, 'out-no-curl');
  mkdirSync(noCurlSet);
  for (const f of ['vmlinuz', 'rootfs.squashfs', 'cmdline.txt']) symlinkSync(join(set.out, f), join(noCurlSet, f));
  initrd(join(noCurlSet, 'initrd.img'), []);
  initrd(join(set.out, 'initrd.img'), ['--hook', 'curl']);
});

after(() => set?.cleanup());

test('proxy= with an https:// rooturl: curl tunnels through tinyproxy with CONNECT to an origin the guest cannot route to, checks its certificate, and the real init runs', { skip }, async () => {
  const started = Date.now();
  const lab = await startLab({ setDir: set.out, proxy: true, proxyTls: tls, ...keptConsole() });
  try {
    const guest = lab.guests[0]!;
    await guest.waitFor(/RAMBOOT-DONE/, BOOT_MS);
    const output = guest.output();
    assertRealInit(output, IMAGE);
    assert.match(output, /ramboot: net: http:\/\/ and https:\/\/ fetches go through the proxy http:\/\/10\.77\.0\.1:3128/);
    const lease = /ramboot: net: eth0 (10\.77\.0\.\d+)\/24 \(dhcp\)/.exec(output);
    assert.ok(lease, 'a DHCP lease without a router: 10.77.1.1 is unreachable for the guest itself');
    assert.match(output, /ramboot: fetch: curl, certificates checked against \/etc\/ssl\/certs\/ca-certificates\.crt/);
    assert.match(output, /ramboot: fetch: [\d.]+ MiB from https:\/\/10\.77\.1\.1\/rootfs\.squashfs/);
    assert.match(output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));

    // tinyproxy saw tunnels only: CONNECTs to the origin's https port, never a GET of the image.
    const requests = proxyRequests(lab.proxyLog!);
    assert.ok(requests.length > 0 && requests.every((r) => r === 'CONNECT 10.77.1.1:443 HTTP/1.1'), `tinyproxy got CONNECTs to 10.77.1.1:443 only: ${JSON.stringify(requests)}`);
    // The https origin served curl's HEAD and the whole image to the proxy's side of the tunnel.
    const origin = readFileSync(lab.originTlsLog!, 'utf8').split('\n').filter(Boolean);
    assert.ok(origin.some((l) => l.startsWith(`10.77.1.1 "GET /rootfs.squashfs HTTP/1.1" 200 ${rootBytes} `) && l.includes('ua="curl/')), `the https origin served the whole image to curl through the proxy: ${origin.join(' | ')}`);
    assert.ok(!origin.some((l) => l.startsWith(`${lease[1]} `)), 'never to the guest directly');
    // And the plain-http nginx never saw a request for the image.
    assert.doesNotMatch(readFileSync(lab.accessLog, 'utf8'), /rootfs\.squashfs/);
    console.log(`# tinyproxy: ${requests.length} CONNECT(s); origin: ${origin.length} request(s)`);
  } finally {
    await lab.close();
  }
  console.log(`# https-through-proxy lab boot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('proxy= with an https:// rooturl and no curl hook: one error line naming --hook curl; nothing reaches the proxy or the origin', { skip }, async () => {
  const started = Date.now();
  const lab = await startLab({ setDir: noCurlSet, proxy: true, proxyTls: tls });
  try {
    const guest = lab.guests[0]!;
    await guest.waitFor(/Kernel panic[^\n]*\n/, BOOT_MS);
    const output = guest.output();
    assert.doesNotMatch(output, /RAMBOOT-INIT|ramboot: verify:/);
    const errors = output.split('\n').filter((l) => l.includes('ramboot: error:'));
    assert.equal(errors.length, 1, output.slice(-3000));
    assert.match(errors[0]!, /ramboot: error: cannot download the root image: https:\/\/10\.77\.1\.1\/rootfs\.squashfs: https:\/\/ through proxy=http:\/\/10\.77\.0\.1:3128 needs curl, which this initrd lacks: busybox wget cannot tunnel TLS through a proxy \(it sends no CONNECT\); build the initrd with --hook curl$/);
    console.log(`# ${errors[0]!.replace(/^.*ramboot: error:/, 'ramboot: error:')}`);
    assert.doesNotMatch(output, /try 2 of/, 'refused at once: another try cannot help');
    assert.deepEqual(proxyRequests(lab.proxyLog!), [], 'no request went to the proxy');
    assert.equal(readFileSync(lab.originTlsLog!, 'utf8').trim(), '', 'nor straight to the origin');
  } finally {
    await lab.close();
  }
  console.log(`# no-curl lab boot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
