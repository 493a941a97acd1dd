// The fetch and verify stages: mirrors in order, tftp:// URLs, the RAM cap, the sha256 check.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(cmdline: string, rootSize = ''): Sandbox {
  const sb = new Sandbox({ cmdline, memAvailableKiB: 900_000, conf: { facts: { KVER: '6.1.0-test', ROOTSIZE: rootSize, VERSION: 't' } } });
  sandboxes.push(sb);
  return sb;
}
const IMAGE = 'hsqs pretend squashfs image\n';
const SHA = createHash('sha256').update(IMAGE).digest('hex');
const FETCH = 'ram_stage_setup >/dev/null; ram_stage_fetch; echo "url=$RAM_IMAGE_URL"';
const IMG = '$P/run/ramboot/image/rootfs.squashfs';

/** wget: 404 for URLs containing `bad`, refused for `down`, else writes IMAGE to -O. */
function fakeWget(sb: Sandbox): void {
  sb.stub(
    'wget',
    `while [ $# -gt 1 ]; do [ "$1" = -O ] && out=$2; shift; done
case $1 in
*bad*) echo "wget: server returned error: HTTP/1.1 404 Not Found" >&2; exit 1 ;;
*down*) echo "wget: can't connect to remote host (10.9.9.9): Connection refused" >&2; exit 1 ;;
esac
printf '${IMAGE.replaceAll('\n', '\\n')}' >"$out"`,
  );
}

test('fetch: the first mirror fails, the second is used; the tmpfs is capped, then fitted to the image', () => {
  const sb = sandbox('rooturl=http://bad.example/rootfs.squashfs,http://good.example/rootfs.squashfs');
  fakeWget(sb);
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('wget'), [
    `wget -q -O ${IMG} http://bad.example/rootfs.squashfs`,
    `wget -q -O ${IMG} http://good.example/rootfs.squashfs`,
  ]);
  assert.deepEqual(sb.callLines('mount').slice(4), [
    // 900000 kB available minus the 64 MiB reserve
    'mount -t tmpfs -o size=834464k,mode=0700 tmpfs $P/run/ramboot/image',
    'mount -o remount,size=4k $P/run/ramboot/image',
  ]);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/bad\.example\/rootfs\.squashfs: wget: server returned error: HTTP\/1\.1 404 Not Found; trying the next mirror$/m);
  assert.match(r.stdout, /^ramboot: fetch: 0\.00 MiB from http:\/\/good\.example\/rootfs\.squashfs$/m);
  assert.match(r.stdout, /^url=http:\/\/good\.example\/rootfs\.squashfs$/m);
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
});

test('fetch: when every mirror fails, one error line gives each URL with its reason', () => {
  const sb = sandbox('fetch=http://bad.example/a,ftp://x/b,http://down.example/c');
  fakeWget(sb);
  const r = sb.run(FETCH);
  assert.equal(r.status, 1);
  assert.equal(r.output.split('\n').filter((l) => l.includes('warning')).length, 2, 'a warning per mirror that has a next one');
  assert.deepEqual(errorLines(r.output), [
    "ramboot: error: cannot download the root image: http://bad.example/a: wget: server returned error: HTTP/1.1 404 Not Found; ftp://x/b: not an http://, https:// or tftp:// URL; http://down.example/c: wget: can't connect to remote host (10.9.9.9): Connection refused",
  ]);
  assert.equal(sb.exists('run/ramboot/image/rootfs.squashfs'), false, 'no partial image is left');
});

test('fetch: an empty download counts as a failure', () => {
  const sb = sandbox('rooturl=http://empty.example/x');
  sb.stub('wget', 'while [ $# -gt 1 ]; do [ "$1" = -O ] && out=$2; shift; done; : >"$out"');
  const r = sb.run(FETCH);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: cannot download the root image: http://empty.example/x: the server sent an empty file']);
});

test('fetch: tftp://host:port/path runs busybox tftp with the file name and big blocks', () => {
  const sb = sandbox('rooturl=tftp://10.0.2.2:6969/images/rootfs.squashfs,tftp://10.0.2.2/rootfs.squashfs');
  sb.stub('tftp', 'while [ $# -gt 2 ]; do [ "$1" = -l ] && out=$2; shift; done; [ "$2" = 69 ] || { echo "tftp: timeout" >&2; exit 1; }; echo image >"$out"');
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('tftp'), [
    `tftp -g -b 1468 -r images/rootfs.squashfs -l ${IMG} 10.0.2.2 6969`,
    `tftp -g -b 1468 -r rootfs.squashfs -l ${IMG} 10.0.2.2 69`,
  ]);
  assert.match(r.stdout, /warning: fetch: tftp:\/\/10\.0\.2\.2:6969\/images\/rootfs\.squashfs: tftp: timeout/);
});

test('fetch: an image bigger than the free RAM stops before downloading anything', () => {
  const sb = sandbox('rooturl=http://good.example/x', String(2 * 1024 ** 3));
  fakeWget(sb);
  const r = sb.run(FETCH);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: the root image needs 2048 MiB of RAM but only 814 MiB are free (give the machine more RAM or shrink the image)']);
  assert.deepEqual(sb.calls('wget'), []);
});

test('fetch: no rooturl= says how to give one', () => {
  const r = sandbox('').run(FETCH);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: no rooturl= on the kernel command line (e.g. rooturl=http://SERVER/rootfs.squashfs)']);
});

const VERIFY = `ram_stage_setup >/dev/null; RAM_IMAGE_URL=http://h/rootfs.squashfs; RAM_IMAGE="$RAM_PREFIX/img"; ram_stage_verify`;

test('verify: a checksum mismatch refuses the image with got and expected', () => {
  const wrong = '0'.repeat(64);
  const sb = sandbox(`rootsha256=${wrong}`);
  sb.write('img', IMAGE);
  const r = sb.run(VERIFY);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), [
    `ramboot: error: checksum mismatch for http://h/rootfs.squashfs: got ${SHA}, expected ${wrong} (a stale image on the server, or the wrong rootsha256=?)`,
  ]);
});

test('verify: the right checksum passes, in either case of hex', () => {
  for (const sha of [SHA, SHA.toUpperCase()]) {
    const sb = sandbox(`rootsha256=${sha}`);
    sb.write('img', IMAGE);
    const r = sb.run(VERIFY);
    assert.equal(r.status, 0, r.output);
    assert.match(r.stdout, new RegExp(`^ramboot: verify: sha256 ${SHA} matches$`, 'm'));
  }
});

test('verify: a malformed rootsha256 is reported as such, not as a mismatch', () => {
  const sb = sandbox('rootsha256=abc123');
  sb.write('img', IMAGE);
  assert.deepEqual(errorLines(sb.run(VERIFY).output), ['ramboot: error: rootsha256=abc123 is not a sha256 (64 hex digits)']);
});

test('verify: without any rootsha256 the boot goes on with a loud warning', () => {
  const sb = sandbox('');
  sb.write('img', IMAGE);
  const r = sb.run(VERIFY);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^ramboot: warning: verify: no rootsha256= given or built in: http:\/\/h\/rootfs\.squashfs is NOT verified$/m);
});
