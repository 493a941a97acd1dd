// overlays=: extra layers fetched after the root image and stacked over it at the mount stage,
// the last one on top; a squashfs by its magic is loop-mounted, a .tar.gz unpacked; #sha256=.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));

const TGZ = 'pretend gzip tar\n';
const TGZ_SHA = createHash('sha256').update(TGZ).digest('hex');
/** The root image the fake wget serves, whose sha256 the initrd has baked in. */
const ROOT_SHA = createHash('sha256').update('hsqs http://h/rootfs.squashfs\n').digest('hex');

/** wget writes `hsqs ...` for *.squashfs / *.sqfs, TGZ for anything else; 404 for `bad` URLs. */
function sandbox(cmdline: string): Sandbox {
  const sb = new Sandbox({ cmdline, memAvailableKiB: 900_000, conf: { baked: { rootsha256: ROOT_SHA }, facts: { KVER: '6.1.0-test', VERSION: 't' } } });
  sandboxes.push(sb);
  sb.stub(
    'wget',
    `out=; spider=
while [ $# -gt 1 ]; do case $1 in -O) out=$2 ;; --spider) spider=1 ;; esac; shift; done
case $1 in *bad*) echo "wget: server returned error: HTTP/1.1 404 Not Found" >&2; exit 1 ;; esac
[ -z "$spider" ] || exit 0
case $1 in *.squashfs | *.sqfs) printf 'hsqs %s\\n' "$1" >"$out" ;; *) printf '${TGZ.replace('\n', '\\n')}' >"$out" ;; esac`,
  );
  sb.stub('tar');
  mkdirSync(sb.path('newroot/sbin'), { recursive: true });
  writeFileSync(sb.path('newroot/sbin/init'), '#!/bin/sh\n');
  chmodSync(sb.path('newroot/sbin/init'), 0o755);
  return sb;
}
const BOOT = 'ram_stage_setup; ram_stage_fetch; ram_stage_mount';
const L = '$P/run/ramboot/layers';

test('overlays=: a tar.gz and a squashfs, fetched in order, stacked with the last on top', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs overlays=http://h/a.tar.gz,,http://h/b.squashfs');
  const r = sb.run(BOOT);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('wget').filter((l) => !l.includes('--spider')), [
    'wget -q -O $P/run/ramboot/image/rootfs.squashfs http://h/rootfs.squashfs',
    `wget -q -O ${L}/1 http://h/a.tar.gz`,
    `wget -q -O ${L}/2 http://h/b.squashfs`,
  ]);
  assert.deepEqual(sb.callLines('tar'), [`tar -xzf ${L}/1 -C ${L}/1.d`]);
  const mounts = sb.callLines('mount');
  assert.ok(mounts.includes(`mount -t tmpfs -o mode=0700 tmpfs ${L}`), mounts.join('\n'));
  assert.ok(mounts.includes(`mount -t squashfs -o ro ${L}/2 ${L}/2.d`), mounts.join('\n'));
  assert.match(mounts.at(-1)!, new RegExp(`^mount -t overlay -o lowerdir=${L.replace('$', '\\$')}/2\\.d:${L.replace('$', '\\$')}/1\\.d:\\$P/run/ramboot/lower,upperdir=`));
  assert.ok(!sb.exists('run/ramboot/layers/1'), 'the unpacked archive is deleted');
  assert.match(r.stdout, /^ramboot: mount: layer 1 \(tar\.gz\) from http:\/\/h\/a\.tar\.gz$/m);
  assert.match(r.stdout, /^ramboot: mount: layer 2 \(squashfs\) from /m);
});

test('overlays=: no layers, no layer tmpfs; the lowerdir is the image alone', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs');
  const r = sb.run(BOOT);
  assert.equal(r.status, 0, r.output);
  assert.ok(!sb.callLines('mount').some((l) => l.includes('layers')));
  assert.match(sb.callLines('mount').at(-1)!, /lowerdir=\$P\/run\/ramboot\/lower,upperdir=/);
});

test('overlays=: #sha256= is checked when given, and a mismatch stops the boot naming the layer', () => {
  const ok = sandbox(`rooturl=http://h/rootfs.squashfs overlays=http://h/a.tgz#sha256=${TGZ_SHA.toUpperCase()}`);
  const r = ok.run(BOOT);
  assert.equal(r.status, 0, r.output);
  assert.ok(ok.callLines('wget').some((l) => l.endsWith(' http://h/a.tgz')), 'the suffix is not part of the URL');
  assert.match(r.stdout, /layer 1: \d+ bytes from http:\/\/h\/a\.tgz \(sha256 matches\)/);

  const bad = sandbox(`rooturl=http://h/rootfs.squashfs overlays=http://h/a.tgz#sha256=${'0'.repeat(64)}`);
  const b = bad.run(BOOT);
  assert.equal(b.status, 1);
  assert.deepEqual(errorLines(b.output), [`ramboot: error: overlays=: layer 1 from http://h/a.tgz: checksum mismatch: got ${TGZ_SHA}, expected ${'0'.repeat(64)}`]);
  assert.ok(!bad.callLines('mount').some((l) => l.includes('overlay ')), 'nothing mounted over an unverified layer');
});

test('overlays=: a failed download and a layer of unknown kind are errors naming the layer', () => {
  const gone = sandbox('rooturl=http://h/rootfs.squashfs overlays=http://h/a.tar.gz,http://bad/b.squashfs');
  const g = gone.run(BOOT);
  assert.equal(g.status, 1);
  assert.deepEqual(errorLines(g.output), ['ramboot: error: overlays=: cannot download layer 2 from http://bad/b.squashfs: HTTP 404 Not Found']);

  const odd = sandbox('rooturl=http://h/rootfs.squashfs overlays=http://h/c.zip');
  const o = odd.run(BOOT);
  assert.equal(o.status, 1);
  assert.deepEqual(errorLines(o.output), ['ramboot: error: overlays=: layer 1 from http://h/c.zip is neither a squashfs nor a .tar.gz/.tgz']);
});

test('overlays=: an empty #sha256= is an error, not an unchecked layer', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs overlays=http://h/a.tgz#sha256=');
  const r = sb.run(BOOT);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: overlays=: layer 1 from http://h/a.tgz: #sha256= is not a sha256 (64 hex digits)']);
  assert.ok(!sb.callLines('mount').some((l) => l.includes('layers/1')), 'the layer is never mounted or unpacked');
  assert.deepEqual(sb.callLines('tar'), []);
});

test('overlays=: a layer URL with a (quoted) space is one layer, kept whole from fetch to mount', () => {
  const sb = sandbox('rooturl=http://h/rootfs.squashfs "overlays=http://h/my layer.tgz,http://h/*.squashfs"');
  const r = sb.run(BOOT);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('tar'), [`tar -xzf ${L}/1 -C ${L}/1.d`]);
  assert.match(r.stdout, /^ramboot: mount: layer 1 \(tar\.gz\) from http:\/\/h\/my layer\.tgz$/m);
  assert.match(r.stdout, /^ramboot: mount: layer 2 \(squashfs\) from http:\/\/h\/\*\.squashfs$/m);
});
