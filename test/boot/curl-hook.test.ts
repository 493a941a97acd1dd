// The optional curl hook, booted in QEMU: the root's curl (with its libraries) and the root's CA
// bundle go into the initrd, and the fetch stage uses curl, which checks certificates. The root
// trusts a CA made for this run only; the image comes over HTTPS from a server whose certificate
// that CA signed for 10.0.2.2 (the guest's name for this machine), at OpenSSL's default security
// level (busybox wget could not even talk to it). A certificate for another name from the same
// CA, and a self-signed one, are refused: one error line naming the cause, no image requested,
// the boot stops. curl and its libraries come from the build host only to stock the test root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer, type HttpServer } from '../../src/lab/http-server.ts';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { rootWithCurlTrustingTestCa, selfSigned } from '../support/test-ca.ts';
import { buildSet, skip, type BuiltSet } from './image-set.ts';

let set: BuiltSet;
let good: HttpServer;
let otherName: HttpServer;
let untrusted: HttpServer;
let initrd: string;
let explain: string;

before(async () => {
  if (skip) return;
  set = await buildSet('curlhook');
  const root = join(set.work, 'root');
  const certs = join(set.work, 'certs');
  const ca = await rootWithCurlTrustingTestCa(root, certs);
  initrd = join(set.work, 'initrd-curl.img');
  explain = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'initrd', '--root', root, '-o', initrd, '--rootsha256', set.rootSha, '--hook', 'curl', '--explain'], {
    encoding: 'utf8',
  });
  good = await startHttpServer(set.out, { tls: ca.issue('guest-view', 'IP:10.0.2.2') });
  otherName = await startHttpServer(set.out, { tls: ca.issue('other-name', 'DNS:boot.example,IP:10.0.2.9') });
  untrusted = await startHttpServer(set.out, { tls: selfSigned(certs, 'self-signed', 'IP:10.0.2.2') });
});

after(async () => {
  await Promise.all([good?.close(), otherName?.close(), untrusted?.close()]);
  set?.cleanup();
});

test('initrd --hook curl packs the root\'s curl, its libraries and the CA bundle', { skip }, () => {
  assert.match(explain, /^\/usr\/bin\/curl\n {4}hook curl: binary \/usr\/bin\/curl$/m);
  assert.match(explain, /^\/(usr\/)?lib\/x86_64-linux-gnu\/libcurl\.so\.4 -> /m);
  assert.match(explain, /hook curl: libssl\.so\.3 for \/usr\/bin\/curl/);
  const [plain, withCurl] = [statSync(join(set.out, 'initrd.img')).size, statSync(initrd).size];
  assert.ok(withCurl > plain);
  console.log(`# initrd.img ${(plain / 2 ** 20).toFixed(1)} MiB, with --hook curl ${(withCurl / 2 ** 20).toFixed(1)} MiB`);
});

test('https:// through curl: the certificate the root\'s CA signed for 10.0.2.2 is accepted and the image boots', { skip }, async () => {
  const r = await set.boot(`rooturl=${good.url('/rootfs.squashfs')}`, /RAMBOOT-DONE|Kernel panic/, { initrd, timeoutMs: 360_000 });
  const m = parseInitMarkers(r.output);
  assert.ok(m.done, r.output.slice(-3000));
  assert.doesNotMatch(r.output, /ramboot: error:/);
  assert.match(r.output, /ramboot: fetch: curl, certificates checked against \/etc\/ssl\/certs\/ca-certificates\.crt/);
  assert.match(r.output, new RegExp(`ramboot: fetch: [\\d.]+ MiB from https://10\\.0\\.2\\.2:${good.port}/rootfs\\.squashfs at [\\d.]+ MiB/s`));
  assert.match(r.output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));
  // curl's HEAD for the size, then one GET: the image came through the verified connection.
  assert.deepEqual(good.requests.map((q) => `${q.method} ${q.path} ${q.status}`), ['HEAD /rootfs.squashfs 200', 'GET /rootfs.squashfs 200']);
});

test('a certificate for another name, or from no trusted CA, is refused: one error line, nothing downloaded, the boot stops', { skip }, async () => {
  const urls = [otherName.url('/rootfs.squashfs'), untrusted.url('/rootfs.squashfs')];
  const r = await set.boot(`rooturl=${urls.join(',')}`, /RAMBOOT-DONE|Kernel panic[^\n]*\n/, { initrd, timeoutMs: 360_000 });
  assert.doesNotMatch(r.output, /RAMBOOT-DONE|ramboot: verify:/);
  const errors = r.output.split('\n').filter((l) => l.includes('ramboot: error:'));
  assert.equal(errors.length, 1, r.output.slice(-3000));
  console.log(`# ${errors[0]!.trim()}`);
  const [first, second] = errors[0]!.replace(/^.*ramboot: error: cannot download the root image: /, '').split('; https://');
  assert.match(first!, new RegExp(`^${urls[0]!.replaceAll('.', '\\.')}: TLS: the server's certificate is refused: .*no alternative certificate subject name matches target host name '10\\.0\\.2\\.2'`), errors[0]);
  assert.match(second!, /TLS: the server's certificate is refused: SSL certificate problem: self[- ]signed certificate/, errors[0]);
  // Refused at once (a retry cannot help), before any request was sent to either server.
  assert.doesNotMatch(r.output, /try 2 of/);
  assert.deepEqual([otherName.requests.length, untrusted.requests.length], [0, 0]);
  assert.match(r.output, /Kernel panic - not syncing: Attempted to kill init/);
});
