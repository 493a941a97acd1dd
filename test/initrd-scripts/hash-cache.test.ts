// The digest taken while the image is written (lib/verify.sh, issue 16) and the cache= disk
// (lib/cache.sh, issue 12), on the fake tree: which bytes the hash stands for, when it is taken
// again, and every way a cache can be absent, damaged, read-only or full without failing a boot.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));

const IMAGE = 'hsqs pretend squashfs image\n';
const SHA = createHash('sha256').update(IMAGE).digest('hex');
const FETCH = 'ram_stage_setup; ram_stage_fetch; ram_write_report; echo "url=$RAM_IMAGE_URL"';
const IMG = '$P/run/ramboot/image/rootfs.squashfs';
/** Where the cache filesystem is mounted (mount is a stub: the directory is the "disk"). */
const CACHE_DIR = 'run/ramboot/cache/ramboot-cache';

function sandbox(cmdline: string, pin = SHA): Sandbox {
  const sb = new Sandbox({ cmdline, memAvailableKiB: 900_000, conf: { baked: { rootsha256: pin }, facts: { KVER: '6.1.0-test', ROOTSIZE: '', VERSION: 't' } } });
  sandboxes.push(sb);
  // wget: the size probe answers with IMAGE's length, a GET writes IMAGE to -O.
  sb.stub(
    'wget',
    `spider=; out=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
[ -z "$spider" ] || { printf '  Content-Length: ${IMAGE.length}\\n' >&2; exit 0; }
printf '${IMAGE.replaceAll('\n', '\\n')}' >"$out"`,
  );
  sb.stub('findfs', 'case $1 in LABEL=RAMCACHE) echo /dev/vdb ;; *) echo "findfs: unable to resolve \'$1\'" >&2; exit 1 ;; esac');
  return sb;
}

function report(sb: Sandbox): Record<string, any> {
  return JSON.parse(sb.read('run/ramboot/report.json'));
}

const gets = (sb: Sandbox) => sb.callLines('wget').filter((l) => !l.includes('--spider'));

test('hash while downloading: a fresh GET (no -c) is hashed as it is written, the digest ready with the last byte', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs');
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(gets(sb), [`wget -q -O ${IMG} http://h/rootfs.squashfs`]);
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
  assert.match(r.stdout, new RegExp(`^ramboot: verify: sha256 ${SHA} matches \\(hashed while it arrived\\)$`, 'm'));
  assert.deepEqual({ ...report(sb).verify, seconds: 0 }, { result: 'match', sha256: SHA, hashed: 'while', seconds: 0 });
  for (const f of ['hash.out', 'hash.len', 'hash.done']) assert.equal(sb.exists(`run/ramboot/${f}`), false, `${f} is cleaned up`);
  // The verify point is still there for initrddebug= (inside fetch now), and no stage "verify" is timed.
  const dbg = sandbox('rooturl=http://h/rootfs.squashfs initrddebug=verify');
  const d = dbg.run(FETCH);
  assert.match(d.stdout, /ramboot: initrddebug: shell before verify \(exit to continue\)\nramboot: verify: sha256/);
  assert.ok(d.stdout.indexOf('shell before verify') > d.stdout.indexOf('ramboot: fetch: 0.00 MiB'), 'the shell opens once the image is complete');
});

test('rootsha256=off: the download is not hashed at all (no digest would be compared)', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs rootsha256=off');
  sb.stub('sha256sum', 'cat >/dev/null; echo "0000  -"');
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
  assert.deepEqual(sb.callLines('sha256sum'), []);
  assert.deepEqual(report(sb).verify, { result: 'off', sha256: 'off' });
  // The same stub does run when a pin is to be checked: the test above could fail.
  const pinned = sandbox('rooturl=http://h/rootfs.squashfs');
  pinned.stub('sha256sum', 'cat >/dev/null; echo "0000  -"');
  pinned.run(FETCH);
  assert.ok(pinned.callLines('sha256sum').length > 0);
});

test('hash while downloading: a wrong pin still fails closed, with the digest taken on the way in as "got"', () => {
  const wrong = 'f'.repeat(64);
  const sb = sandbox('rooturl=http://h/rootfs.squashfs', wrong);
  const r = sb.run(FETCH);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), [`ramboot: error: checksum mismatch for http://h/rootfs.squashfs: got ${SHA}, expected ${wrong} (a stale image on the server, or the wrong rootsha256=?)`]);
  assert.deepEqual(report(sb).verify, { result: 'mismatch', sha256: SHA, expected: wrong, hashed: 'while' });
  assert.equal(report(sb).cache, undefined);
});

test('a resumed download that fails its check (a cache tier spliced it) is fetched once more from byte 0; twice wrong fails closed', () => {
  const half = IMAGE.length >> 1;
  const script = (second: string) => `spider=; out=; resume=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; -c) resume=1 ;; esac; shift; done
[ -z "$spider" ] || { printf '  Content-Length: ${IMAGE.length}\\n' >&2; exit 0; }
n=$(cat "$RAM_PREFIX/gets" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >"$RAM_PREFIX/gets"
case $n in
1) printf '${IMAGE.slice(0, half)}' >"$out"; echo 'wget: connection closed prematurely' >&2; exit 1 ;;
2) printf '${'X'.repeat(IMAGE.length - half - 1)}\\n' >>"$out" ;;
*) printf '${second.replaceAll('\n', '\\n')}' >"$out" ;;
esac`;
  const sb = sandbox('rooturl=http://h/rootfs.squashfs');
  sb.stub('wget', script(IMAGE));
  const r = sb.run(`RAM_FETCH_WAIT=0; ${FETCH}`);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(gets(sb), [
    `wget -q -O ${IMG} http://h/rootfs.squashfs`,
    `wget -q -c -O ${IMG} http://h/rootfs.squashfs`,
    `wget -q -O ${IMG} http://h/rootfs.squashfs`,
  ]);
  assert.match(r.stdout, /^ramboot: warning: verify: http:\/\/h\/rootfs\.squashfs: checksum mismatch after a resumed download \(got [0-9a-f]{64}\); fetching it once more from the start$/m);
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
  assert.deepEqual({ ...report(sb).verify, seconds: 0 }, { result: 'match', sha256: SHA, hashed: 'while', seconds: 0, refetched: true });

  const bad = sandbox('rooturl=http://h/rootfs.squashfs');
  bad.stub('wget', script('still not the image\n'));
  const b = bad.run(`RAM_FETCH_WAIT=0; ${FETCH}`);
  assert.equal(b.status, 1);
  assert.equal(gets(bad).length, 3, 'one fresh download, not a loop');
  assert.match(errorLines(b.output).join('\n'), /^ramboot: error: checksum mismatch for http:\/\/h\/rootfs\.squashfs: got [0-9a-f]{64}, expected /);
});

test('hash while downloading: a file written in pieces is followed to its end; one that shrinks (rewritten) gets no digest', () => {
  const sb = sandbox('');
  const r = sb.run(`ram_stage_setup; f="$RAM_PREFIX/img"
ram_hash_start "$f"; printf 'hsqs pretend ' >"$f"; command sleep 0.3; printf 'squashfs image\\n' >>"$f"
ram_hash_finish "$f" && echo "pieces=$RAM_HASHED_SHA256 bytes=$RAM_HASHED_BYTES"
ram_hash_start "$f"; printf 'a longer first version\\n' >"$f"; command sleep 1; printf 'short\\n' >"$f"
ram_hash_finish "$f" || echo "rewritten: no digest, file=$RAM_HASHED_FILE"
ram_hash_start "$RAM_PREFIX/never"; ram_hash_finish "$RAM_PREFIX/never" || echo "never written: no digest"`);
  assert.match(r.stdout, new RegExp(`^pieces=${SHA} bytes=${IMAGE.length}$`, 'm'));
  assert.match(r.stdout, /^rewritten: no digest, file=$/m);
  assert.match(r.stdout, /^never written: no digest$/m);
});

test('hash while downloading: an empty file written is hashed as empty; a file changed after the hash is hashed again', () => {
  const sb = sandbox('');
  sb.write('img', IMAGE);
  const r = sb.run(`ram_stage_setup; ram_hash_start "$RAM_PREFIX/x"; : >"$RAM_PREFIX/x"; ram_hash_finish "$RAM_PREFIX/x"; echo "empty=$RAM_HASHED_SHA256 bytes=$RAM_HASHED_BYTES"
ram_hash_start "$RAM_PREFIX/img2"; cp "$RAM_PREFIX/img" "$RAM_PREFIX/img2"; ram_hash_finish "$RAM_PREFIX/img2"
ram_sha256_check "$RAM_PREFIX/img2" ${SHA} pin && echo "first=$RAM_SHA256_HOW"
printf more >>"$RAM_PREFIX/img2"; ram_sha256_check "$RAM_PREFIX/img2" ${SHA} pin || echo "second=$RAM_SHA256_HOW"`);
  assert.match(r.stdout, /^empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 bytes=0$/m);
  assert.match(r.stdout, /^first=while$/m);
  assert.match(r.stdout, /^second=after$/m, 'the size no longer matches what was hashed');
});

test('cache=: a matching cached image is copied into RAM (hashed as it is copied), nothing is downloaded, the cache is unmounted', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=RAMCACHE');
  sb.write(`${CACHE_DIR}/${SHA}.squashfs`, IMAGE);
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('wget'), [], 'no request at all');
  assert.equal(sb.read('run/ramboot/image/rootfs.squashfs'), IMAGE);
  assert.match(r.stdout, new RegExp(`^url=dev://LABEL=RAMCACHE/ramboot-cache/${SHA}\\.squashfs$`, 'm'));
  assert.match(r.stdout, /^ramboot: cache: the image is on \/dev\/vdb \(cache=LABEL=RAMCACHE\): nothing to download$/m);
  assert.deepEqual(sb.callLines('mount', 'umount').filter((l) => l.includes('cache')), ['mount -o rw /dev/vdb $P/run/ramboot/cache', 'umount $P/run/ramboot/cache']);
  const rep = report(sb);
  assert.deepEqual(rep.cache, { spec: 'LABEL=RAMCACHE', device: '/dev/vdb', result: 'hit', found: 'match', why: null, store_seconds: null });
  assert.equal(rep.verify.hashed, 'while');
});

test('cache=: absent, the image is downloaded, then stored under a temporary name and renamed; older images go', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=RAMCACHE');
  const old = `${CACHE_DIR}/${'0'.repeat(64)}.squashfs`;
  sb.write(old, 'an older image\n');
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.equal(gets(sb).length, 1);
  assert.match(r.stdout, new RegExp(`^ramboot: cache: no image of sha256 ${SHA} on /dev/vdb; fetching it$`, 'm'));
  assert.match(r.stdout, /^ramboot: cache: stored the image on \/dev\/vdb in \d+\.\d\ds for the next boot$/m);
  assert.equal(sb.read(`${CACHE_DIR}/${SHA}.squashfs`), IMAGE);
  assert.equal(sb.exists(old), false, 'the cache keeps the last good image only');
  assert.equal(sb.exists(`${CACHE_DIR}/.${SHA}.squashfs.part`), false);
  assert.ok(r.stdout.indexOf('verify: sha256') < r.stdout.indexOf('cache: stored'), 'stored only after the check');
  const rep = report(sb);
  assert.deepEqual({ ...rep.cache, store_seconds: 0 }, { spec: 'LABEL=RAMCACHE', device: '/dev/vdb', result: 'stored', found: 'none', why: null, store_seconds: 0 });
});

test('cache=: a damaged cached image is dropped with a warning, fetched from the network and stored anew', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=RAMCACHE');
  sb.write(`${CACHE_DIR}/${SHA}.squashfs`, 'hsqs bit rot\n');
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, new RegExp(`^ramboot: warning: cache: ramboot-cache/${SHA}\\.squashfs on /dev/vdb is damaged \\(its sha256 is [0-9a-f]{64}\\); fetching it$`, 'm'));
  assert.equal(gets(sb).length, 1);
  assert.equal(sb.read(`${CACHE_DIR}/${SHA}.squashfs`), IMAGE);
  assert.equal(report(sb).cache.found, 'mismatch');
  assert.equal(report(sb).cache.result, 'stored');
  assert.equal(report(sb).fetch.url, 'http://h/rootfs.squashfs');
});

test('cache=: no such disk, or one that will not mount: a warning, and the boot goes on from the network', () => {
  const none = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=NOPE');
  const r = none.run(FETCH, { RAM_DEV_WAIT_CS: '20' });
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: warning: cache=LABEL=NOPE: no block device LABEL=NOPE after 0\.20s \(there are: none; is its disk driver in the initrd\?\); fetching from the network$/m);
  assert.equal(report(none).cache.result, 'miss');
  assert.equal(report(none).cache.device, null);

  const odd = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=RAMCACHE');
  odd.stub('mount', 'case "$*" in *ramboot/cache*) echo "mount: mounting /dev/vdb on /run/ramboot/cache failed: Invalid argument" >&2; exit 1 ;; esac');
  const o = odd.run(FETCH);
  assert.equal(o.status, 0, o.output);
  assert.match(o.stdout, /^ramboot: warning: cache=LABEL=RAMCACHE: cannot mount \/dev\/vdb: mount: mounting \/dev\/vdb on \/run\/ramboot\/cache failed: Invalid argument; fetching from the network$/m);
  assert.deepEqual([report(odd).cache.result, report(odd).cache.device], ['miss', '/dev/vdb']);
  assert.deepEqual(odd.callLines('umount').filter((l) => l.includes('cache')), [], 'nothing to unmount');
});

test('cache=: a read-only cache is read but not written; rootsha256=off leaves the cache alone', () => {
  const ro = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=RAMCACHE');
  ro.stub('mount', 'case "$*" in *"-o rw"*ramboot/cache*) echo "mount: /dev/vdb is write-protected" >&2; exit 1 ;; esac');
  const r = ro.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: warning: cache=LABEL=RAMCACHE: \/dev\/vdb mounts only read-only \(mount: \/dev\/vdb is write-protected\): it is read, never updated$/m);
  assert.equal(ro.exists(`${CACHE_DIR}/${SHA}.squashfs`), false);
  assert.deepEqual([report(ro).cache.result, report(ro).cache.why], ['miss', '/dev/vdb is read-only']);

  const off = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=RAMCACHE rootsha256=off');
  const o = off.run(FETCH);
  assert.equal(o.status, 0, o.output);
  assert.match(o.stdout, /^ramboot: warning: cache=LABEL=RAMCACHE: rootsha256=off gives no pin to check a cached image against; fetching from the network$/m);
  assert.deepEqual(off.calls('findfs'), [], 'the disk is not even looked for');
  assert.equal(report(off).cache.result, 'miss');
});

test('cache=: a full cache: older images make room for one more try; still full, a warning, the temporary file removed', () => {
  // cp fails while an older image is there; once it is gone the copy fits.
  const roomy = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=RAMCACHE');
  const old = `${CACHE_DIR}/${'0'.repeat(64)}.squashfs`;
  roomy.write(old, 'an older image\n');
  roomy.stub('cp', `if [ -f "$RAM_PREFIX/${old}" ]; then : >"$2"; echo "cp: write error: No space left on device" >&2; exit 1; fi; /bin/busybox cp "$@"`);
  const r = roomy.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: cache: removed older images to make room; trying again$/m);
  assert.equal(roomy.read(`${CACHE_DIR}/${SHA}.squashfs`), IMAGE);
  assert.equal(report(roomy).cache.result, 'stored');

  const full = sandbox('rooturl=http://h/rootfs.squashfs cache=LABEL=RAMCACHE');
  full.stub('cp', ': >"$2"; echo "cp: write error: No space left on device" >&2; exit 1');
  const f = full.run(FETCH);
  assert.equal(f.status, 0, f.output);
  assert.match(f.stdout, /^ramboot: warning: cache=LABEL=RAMCACHE: cannot store the image: cp: write error: No space left on device; the next boot downloads it again$/m);
  assert.equal(full.exists(`${CACHE_DIR}/.${SHA}.squashfs.part`), false);
  assert.deepEqual([report(full).cache.result, report(full).cache.why], ['miss', 'cp: write error: No space left on device']);
  assert.deepEqual(full.callLines('umount').filter((l) => l.includes('cache')), ['umount $P/run/ramboot/cache']);
});
