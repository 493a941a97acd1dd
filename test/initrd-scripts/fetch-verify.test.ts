// The fetch and verify stages: mirrors in order, retries and resume, error causes, tftp://,
// relative URLs, the RAM checks, the sha256 check.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
const IMAGE = 'hsqs pretend squashfs image\n';
const SHA = createHash('sha256').update(IMAGE).digest('hex');
/** A sandbox whose initrd has IMAGE's sha256 baked in, as `ramboot build` makes it: the fetch
 * stage ends with the check (lib/verify.sh, ram_verify_root). */
function sandbox(cmdline: string, rootSize = '', pin: string | undefined = SHA): Sandbox {
  const sb = new Sandbox({ cmdline, memAvailableKiB: 900_000, conf: { ...(pin ? { baked: { rootsha256: pin } } : {}), facts: { KVER: '6.1.0-test', ROOTSIZE: rootSize, VERSION: 't' } } });
  sandboxes.push(sb);
  return sb;
}
const FETCH = 'ram_stage_setup; ram_stage_fetch; echo "url=$RAM_IMAGE_URL"';
const IMG = '$P/run/ramboot/image/rootfs.squashfs';

/** wget: --spider prints the headers (Content-Length = IMAGE) on stderr; 404 for URLs containing
 * `bad`, refused for `down`, unknown host for `nohost`, else writes IMAGE to -O. */
function fakeWget(sb: Sandbox): void {
  sb.stub(
    'wget',
    `spider=; out=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
case $1 in
*bad*) echo "wget: server returned error: HTTP/1.1 404 Not Found" >&2; exit 1 ;;
*down*) echo "wget: can't connect to remote host (10.9.9.9): Connection refused" >&2; exit 1 ;;
*nohost*) echo "wget: bad address 'nohost.example'" >&2; exit 1 ;;
esac
[ -z "$spider" ] || { printf '  HTTP/1.1 200 OK\\n  Content-Length: ${IMAGE.length}\\n' >&2; exit 0; }
printf '${IMAGE.replaceAll('\n', '\\n')}' >"$out"`,
  );
}

test('fetch: the first mirror fails, the second is used; the tmpfs is capped, then fitted to the image', () => {
  const sb = sandbox('rooturl=http://bad.example/rootfs.squashfs,http://good.example/rootfs.squashfs');
  fakeWget(sb);
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('wget'), [
    'wget -q -S --spider http://bad.example/rootfs.squashfs',
    'wget -q -S --spider http://good.example/rootfs.squashfs',
    `wget -q -O ${IMG} http://good.example/rootfs.squashfs`,
  ]);
  assert.deepEqual(sb.callLines('mount').slice(4), [
    // 900000 kB available minus the 64 MiB reserve and the 32 MiB minimal overlay
    'mount -t tmpfs -o size=801696k,mode=0700 tmpfs $P/run/ramboot/image',
    'mount -o remount,size=4k $P/run/ramboot/image',
  ]);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/bad\.example\/rootfs\.squashfs: HTTP 404 Not Found; trying the next mirror$/m);
  assert.match(r.stdout, /^ramboot: fetch: 0\.00 MiB from http:\/\/good\.example\/rootfs\.squashfs at \d+\.\d\d MiB\/s$/m);
  assert.match(r.stdout, /^url=http:\/\/good\.example\/rootfs\.squashfs$/m);
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
});

test('fetch: when every mirror fails, one error line gives each URL with its cause', () => {
  const sb = sandbox('fetch=http://bad.example/a,ftp://x/b,http://nohost.example/d,http://down.example/c fetch_tries=2');
  fakeWget(sb);
  const r = sb.run(FETCH);
  assert.equal(r.status, 1);
  assert.equal(r.output.split('\n').filter((l) => l.includes('trying the next mirror')).length, 3, 'a warning per mirror that has a next one');
  assert.deepEqual(errorLines(r.output), [
    "ramboot: error: cannot download the root image: http://bad.example/a: HTTP 404 Not Found; ftp://x/b: not an http://, https://, tftp:// or dev:// URL; http://nohost.example/d: DNS: cannot resolve 'nohost.example' (wrong host name, or no DNS server from DHCP?); http://down.example/c: connection refused (no server listening on that host and port?)",
  ]);
  // 404 and DNS are not retried; a refused connection is, once (fetch_tries=2), after 1 s.
  assert.deepEqual(sb.callLines('wget', 'sleep').filter((l) => !l.startsWith('sleep 0.')), [
    'wget -q -S --spider http://bad.example/a',
    'wget -q -S --spider http://nohost.example/d',
    'wget -q -S --spider http://down.example/c',
    `wget -q -O ${IMG} http://down.example/c`,
    'sleep 1',
    `wget -q -O ${IMG} http://down.example/c`,
  ]);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/down\.example\/c: connection refused \(no server listening on that host and port\?\); try 2 of 2 in 1s$/m);
  assert.equal(sb.exists('run/ramboot/image/rootfs.squashfs'), false, 'no partial image is left');
});

test('fetch: a cut transfer is resumed with wget -c after a growing wait; a partial file is removed when the tries run out', () => {
  // The server closes the connection after 5 more bytes each time; the image has IMAGE.length.
  const cutter = `spider=; out=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
[ -z "$spider" ] || { printf '  HTTP/1.1 200 OK\\n  content-length: ${IMAGE.length}\\n' >&2; exit 0; }
have=0; [ -f "$out" ] && have=$(stat -c %s "$out")
printf '${IMAGE.replaceAll('\n', '\\n')}' | dd bs=1 skip=$have count=5 2>/dev/null >>"$out"
[ $((have + 5)) -ge ${IMAGE.length} ] && exit 0
echo "wget: connection closed prematurely" >&2; exit 1`;
  const ok = sandbox('rooturl=http://cut.example/img fetch_tries=6');
  ok.stub('wget', cutter);
  const r = ok.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.equal(ok.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
  // The first GET is fresh (hashed as it is written); every later one resumes the partial file.
  assert.deepEqual(ok.callLines('wget').filter((l) => !l.includes('--spider')), [
    `wget -q -O ${IMG} http://cut.example/img`,
    ...Array(5).fill(`wget -q -c -O ${IMG} http://cut.example/img`),
  ]);
  assert.match(r.stdout, /^ramboot: verify: sha256 [0-9a-f]{64} matches \(hashed after the download, \d+\.\d\ds\)$/m);
  assert.deepEqual(ok.callLines('sleep').filter((l) => !l.startsWith('sleep 0.')), ['sleep 1', 'sleep 2', 'sleep 4', 'sleep 8', 'sleep 16']);
  assert.match(r.stdout, /^ramboot: warning: fetch: http:\/\/cut\.example\/img: short read: the server closed the connection at byte 5 of 28; try 2 of 6 in 1s$/m);

  const fail = sandbox('rooturl=http://cut.example/img fetch_tries=3');
  fail.stub('wget', cutter);
  const f = fail.run(FETCH);
  assert.equal(f.status, 1);
  assert.deepEqual(errorLines(f.output), ['ramboot: error: cannot download the root image: http://cut.example/img: short read: the server closed the connection at byte 15 of 28']);
  assert.equal(fail.exists('run/ramboot/image/rootfs.squashfs'), false, 'the partial file is removed');
});

test('fetch: dev://LABEL=name/path copies the file from that filesystem, mounted read-only for the copy', () => {
  const sb = sandbox('rooturl=dev://LABEL=NOPE/rootfs.squashfs,dev://vdb/x,dev://LABEL=ROOTIMG/images/rootfs.squashfs');
  sb.stub('findfs', 'case $1 in LABEL=ROOTIMG) echo /dev/vdb1 ;; *) echo "findfs: unable to resolve \'$1\'" >&2; exit 1 ;; esac');
  sb.write('run/ramboot/media/images/rootfs.squashfs', IMAGE);
  sb.write('sys/class/block/vda/dev', '254:0\n');
  const r = sb.run(FETCH, { RAM_DEV_WAIT_CS: '30' });
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
  assert.deepEqual(sb.callLines('mount', 'umount').slice(5, -1), [
    'mount -o ro /dev/vdb1 $P/run/ramboot/media',
    'umount $P/run/ramboot/media',
  ]);
  assert.match(r.stdout, /^ramboot: warning: fetch: dev:\/\/LABEL=NOPE\/rootfs\.squashfs: no block device LABEL=NOPE after 0\.30s \(there are: vda; is its disk driver in the initrd\?\); trying the next mirror$/m);
  assert.match(r.stdout, /^ramboot: warning: fetch: dev:\/\/vdb\/x: no block device vdb after 0\.30s/m);
  assert.match(r.stdout, /^ramboot: fetch: 0\.00 MiB from dev:\/\/LABEL=ROOTIMG\/images\/rootfs\.squashfs at /m);

  const missing = sandbox('rooturl=dev://LABEL=ROOTIMG/other.squashfs');
  missing.stub('findfs', 'echo /dev/vdb1');
  assert.deepEqual(errorLines(missing.run(FETCH).output), ['ramboot: error: cannot download the root image: dev://LABEL=ROOTIMG/other.squashfs: no file /other.squashfs on /dev/vdb1']);
  assert.deepEqual(missing.callLines('umount'), ['umount $P/run/ramboot/media'], 'unmounted again');

  const bad = sandbox('rooturl=dev://LABEL=X');
  assert.deepEqual(errorLines(bad.run(FETCH).output), ['ramboot: error: cannot download the root image: dev://LABEL=X: not dev://LABEL=name/path, dev://UUID=uuid/path or dev://sdb1/path']);
});

test('fetch: toram=0 mounts nothing into RAM for a dev:// image: it stays on the disk; a network image is copied anyway', () => {
  // An image far bigger than the RAM (as built) is fine when it stays on its disk.
  const sb = sandbox('rooturl=dev://UUID=1234/rootfs.squashfs toram=0', String(4 * 1024 ** 3));
  sb.stub('findfs', 'echo "$RAM_PREFIX/dev/vdb"');
  sb.write('run/ramboot/media/rootfs.squashfs', IMAGE);
  const r = sb.run(`${FETCH}; echo "image=$RAM_IMAGE"`);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /^image=\$P\/run\/ramboot\/media\/rootfs\.squashfs$/m);
  assert.match(r.output, /^ramboot: fetch: toram=0: the image stays on \$P\/dev\/vdb$/m);
  assert.deepEqual(sb.callLines('umount'), ['umount $P/run/ramboot/image'], 'the media stays mounted, the unused tmpfs goes');

  const net = sandbox('rooturl=http://good.example/x toram=0');
  fakeWget(net);
  assert.match(net.run(FETCH).stdout, /^ramboot: warning: fetch: toram=0 keeps only dev:\/\/ images on their disk; http:\/\/good\.example\/x is in RAM$/m);
});

test('fetch: an empty download counts as a failure', () => {
  const sb = sandbox('rooturl=http://empty.example/x');
  sb.stub('wget', 'out=; while [ $# -gt 1 ]; do [ "$1" = -O ] && out=$2; shift; done; [ -z "$out" ] || : >"$out"');
  const r = sb.run(FETCH);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: cannot download the root image: http://empty.example/x: the server sent an empty file']);
});

test('fetch: tftp://host:port/path runs busybox tftp with the file name and big blocks, retrying timeouts', () => {
  const sb = sandbox('rooturl=tftp://10.0.2.2:6969/images/rootfs.squashfs,tftp://10.0.2.2/rootfs.squashfs fetch_tries=2');
  sb.stub('tftp', `while [ $# -gt 2 ]; do [ "$1" = -l ] && out=$2; shift; done; [ "$2" = 69 ] || { echo partial >"$out"; echo "tftp: timeout" >&2; exit 1; }; printf '${IMAGE.replaceAll('\n', '\\n')}' >"$out"`);
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('tftp'), [
    `tftp -g -b 1468 -r images/rootfs.squashfs -l ${IMG} 10.0.2.2 6969`,
    `tftp -g -b 1468 -r images/rootfs.squashfs -l ${IMG} 10.0.2.2 6969`,
    `tftp -g -b 1468 -r rootfs.squashfs -l ${IMG} 10.0.2.2 69`,
  ]);
  assert.match(r.stdout, /warning: fetch: tftp:\/\/10\.0\.2\.2:6969\/images\/rootfs\.squashfs: tftp: timeout; trying the next mirror/);
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
  assert.match(r.stdout, new RegExp(`^ramboot: verify: sha256 ${SHA} matches \\(hashed while it arrived\\)$`, 'm'), 'tftp is hashed as it arrives');
});

test('fetch: a relative rooturl resolves against the DHCP boot file, or the next-server', () => {
  const cases: [string, string, string][] = [
    // [lease, rooturl, resolved]
    ['RAM_NET_SERVER=10.0.2.2 RAM_NET_BOOTFILE=http://boot.example:8080/set/boot.ipxe', 'rootfs.squashfs', 'http://boot.example:8080/set/rootfs.squashfs'],
    ['RAM_NET_SERVER=10.0.2.2 RAM_NET_BOOTFILE=pxe/pxelinux.0', 'img/rootfs.squashfs', 'tftp://10.0.2.2/pxe/img/rootfs.squashfs'],
    ['RAM_NET_SERVER=10.0.2.2 RAM_NET_BOOTFILE=pxelinux.0', '/rootfs.squashfs', 'tftp://10.0.2.2/rootfs.squashfs'],
    ['RAM_NET_SERVERID=10.0.2.9', 'rootfs.squashfs', 'http://10.0.2.9/rootfs.squashfs'],
    ['RAM_NET_BOOTFILE=http://boot.example', 'rootfs.squashfs', 'http://boot.example/rootfs.squashfs'],
    ['RAM_NET_SERVER=10.0.2.2 RAM_NET_SERVERID=10.0.2.9', 'https://m/x', 'https://m/x'],
    ['', 'rootfs.squashfs', ''],
  ];
  for (const [lease, url, want] of cases) {
    const r = sandbox('').run(`${lease} ram_resolve_url '${url}'; echo "url=$RAM_URL"`);
    assert.match(r.stdout, new RegExp(`^url=${want.replace(/[.?]/g, '\\$&')}$`, 'm'), `${lease} ${url}`);
  }
  const sb = sandbox('rooturl=rootfs.squashfs');
  fakeWget(sb);
  const r = sb.run(FETCH);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: cannot download the root image: rootfs.squashfs: a relative URL, but DHCP named no server to resolve it against']);
});

test('fetch: an image bigger than the free RAM (as built) stops before downloading anything', () => {
  const sb = sandbox('rooturl=http://good.example/x', String(2 * 1024 ** 3));
  fakeWget(sb);
  const r = sb.run(FETCH);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: image 2048 MiB + overlay 32 MiB > 814 MiB free (built into the initrd; 64 MiB kept for the kernel): add RAM or serve a smaller image',
  ]);
  assert.deepEqual(sb.calls('wget'), []);
  assert.deepEqual(sb.callLines('mount').slice(4), [], 'nothing mounted for the image');
});

test('fetch: a Content-Length bigger than the free RAM stops before the GET', () => {
  const sb = sandbox('rooturl=http://big.example/x');
  sb.stub('wget', `printf '  HTTP/1.1 200 OK\\n  Content-Length: ${900 * 1024 * 1024}\\n' >&2`);
  const r = sb.run(FETCH);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: image 900 MiB + overlay 32 MiB > 814 MiB free (Content-Length of http://big.example/x; 64 MiB kept for the kernel): add RAM or serve a smaller image',
  ]);
  assert.deepEqual(sb.callLines('wget'), ['wget -q -S --spider http://big.example/x']);
});

test('fetch: with no rooturl= an image built into the initrd (--embed) is used in place', () => {
  const sb = new Sandbox({ cmdline: '', conf: { baked: { rootsha256: SHA }, facts: { KVER: '6.1.0-test', ROOTSIZE: String(IMAGE.length), EMBEDDED: '/rootfs.squashfs', VERSION: 't' } } });
  sandboxes.push(sb);
  sb.write('rootfs.squashfs', IMAGE);
  fakeWget(sb);
  const r = sb.run(`${FETCH}; echo "image=$RAM_IMAGE"`);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /^image=\$P\/rootfs\.squashfs$/m);
  assert.match(r.output, /^url=initrd:\/rootfs\.squashfs$/m);
  assert.match(r.output, /^ramboot: fetch: no rooturl=: using the 0\.00 MiB image built into the initrd$/m);
  assert.deepEqual(sb.calls('wget'), []);
  assert.deepEqual(sb.callLines('mount').slice(4), [], 'no tmpfs for it');
});

test('fetch: no rooturl= says how to give one', () => {
  const r = sandbox('').run(FETCH);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: no rooturl= on the kernel command line (e.g. rooturl=http://SERVER/rootfs.squashfs)']);
});

const VERIFY = `ram_stage_setup; RAM_IMAGE_URL=http://h/rootfs.squashfs; RAM_IMAGE="$RAM_PREFIX/img"; ram_verify_root`;

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
    assert.match(r.stdout, new RegExp(`^ramboot: verify: sha256 ${SHA} matches \\(hashed after the download, \\d+\\.\\d\\ds\\)$`, 'm'));
  }
});

test('verify: a malformed rootsha256 is reported as such, not as a mismatch', () => {
  const sb = sandbox('rootsha256=abc123');
  sb.write('img', IMAGE);
  const lines = errorLines(sb.run(VERIFY).output);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^ramboot: error: rootsha256=abc123[: ]/);
  assert.doesNotMatch(lines[0]!, /mismatch/);
});

test('verify: rootsha256=off boots the image unchecked, with a loud warning and "off" in report.json', () => {
  const sb = sandbox('rootsha256=off');
  sb.write('img', IMAGE);
  const r = sb.run(`${VERIFY}; ram_write_report`);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: warning: verify: rootsha256=off: http:\/\/h\/rootfs\.squashfs is NOT verified; anyone who can change it on the server or the network chooses what this machine boots$/m);
  assert.deepEqual(JSON.parse(sb.read('run/ramboot/report.json')).verify, { result: 'off', sha256: 'off' });
});

test('verify: with no pin at all (built without one, none given) the boot stops: it fails closed', () => {
  const sb = sandbox('initrddebug=verify', '', '');
  sb.write('img', IMAGE);
  const r = sb.run(VERIFY);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: no sha256 to check http://h/rootfs.squashfs against: this initrd has none built in and the command line gives no rootsha256= (build with ramboot build, or add rootsha256=HEX, or rootsha256=off to boot it unverified)',
  ]);
  assert.equal(JSON.parse(sb.read('run/ramboot/report.json')).verify, undefined, 'nothing claims it was verified');
});

test('verify: an empty rootsha256= on the command line does not drop the baked pin', () => {
  const sb = new Sandbox({ cmdline: 'rootsha256=', conf: { baked: { rootsha256: SHA }, facts: { KVER: '6.1.0-test', VERSION: 't' } } });
  sandboxes.push(sb);
  sb.write('img', IMAGE);
  const r = sb.run(VERIFY);
  assert.equal(r.status, 1, r.output);
  assert.equal(errorLines(r.output).length, 1, r.output);
  assert.doesNotMatch(r.stdout, /verify: sha256 .* matches|NOT verified/);
});
