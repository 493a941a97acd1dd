// The root image hashed while it downloads (issue 16) and the cache= disk (issue 12), booted in
// QEMU from a set whose init prints /run/ramboot/report.json: HTTP and TFTP hashed on the way in
// with no verify stage left, a wrong pin still refused, a resumed download hashed once at the
// end; then three boots with one ext4 cache disk: the first downloads and stores the image, the
// second asks the server for nothing, the third finds the cached copy damaged and downloads it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { MARKER_INIT, parseInitMarkers } from '../../src/lab/demo-root.ts';
import { buildSet, skip, type BuiltSet, consoleReport } from './image-set.ts';

// The report is a long line: a second for the serial console to drain it before poweroff -f.
const INIT = MARKER_INIT.replace('echo "RAMBOOT-DONE"', 'echo "RAMBOOT-REPORT $(cat /run/ramboot/report.json)"\nsleep 1\necho "RAMBOOT-DONE"');

let set: BuiltSet;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let imageBytes: number;

before(async () => {
  if (skip) return;
  set = await buildSet('hash-cache', INIT);
  imageBytes = statSync(join(set.out, 'rootfs.squashfs')).size;
  http = await startHttpServer(set.out);
});

after(async () => {
  await http?.close();
  set?.cleanup();
});

const report = consoleReport;

/** Boot to the marker init; its report.json. */
async function bootReport(append: string, more: Parameters<BuiltSet['boot']>[2] = {}): Promise<{ output: string; rep: Record<string, any> }> {
  const r = await set.boot(append, /RAMBOOT-DONE/, { timeoutMs: 240_000, ...more });
  assert.ok(parseInitMarkers(r.output).done, `init did not finish:\n${r.output.slice(-3000)}`);
  assert.doesNotMatch(r.output, /ramboot: error:/);
  return { output: r.output, rep: report(r.output) };
}

const imageGets = () => http.requests.filter((q) => q.path === '/rootfs.squashfs');

test('http: the sha256 is taken while the image arrives; verify is no stage of its own any more', { skip }, async () => {
  const { output, rep } = await bootReport(`rooturl=${http.url('/rootfs.squashfs')}`);
  assert.match(output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches \\(hashed while it arrived\\)`));
  assert.equal(rep.verify.result, 'match');
  assert.equal(rep.verify.hashed, 'while');
  assert.deepEqual(Object.keys(rep.stages), ['modules', 'net', 'fetch', 'zram', 'mount', 'fixups']);
  assert.doesNotMatch(output, /stage verify done/);
});

test('tftp: hashed as it arrives too', { skip }, async () => {
  const { output, rep } = await bootReport('rooturl=tftp://10.0.2.2/rootfs.squashfs', { tftpDir: set.out });
  assert.match(output, /ramboot: fetch: [\d.]+ MiB from tftp:\/\/10\.0\.2\.2\/rootfs\.squashfs/);
  assert.deepEqual([rep.verify.result, rep.verify.hashed, rep.fetch.bytes], ['match', 'while', imageBytes]);
});

test('a wrong rootsha256= still fails closed: the streamed digest is refused, nothing is mounted', { skip }, async () => {
  const wrong = '0'.repeat(64);
  const qemu = set.start(`rooturl=${http.url('/rootfs.squashfs')} rootsha256=${wrong} initrddebug=y`);
  try {
    const error = await qemu.waitFor(/ramboot: error: [^\n]*\n/, 200_000);
    assert.match(error, new RegExp(`checksum mismatch for \\S+: got ${set.rootSha}, expected ${wrong}`));
    await qemu.waitFor(/initrddebug: shell after the error/, 30_000);
    qemu.send('echo "FAILED-REPORT $(cat /run/ramboot/report.json)"; grep -c squashfs /proc/mounts | sed "s/^/SQUASHFS-MOUNTS-/"\n');
    await qemu.waitFor(/SQUASHFS-MOUNTS-\d+\n/, 30_000);
    const rep = JSON.parse(/^FAILED-REPORT (.*)$/m.exec(qemu.output())![1]!);
    assert.deepEqual(rep.verify, { result: 'mismatch', sha256: set.rootSha, expected: wrong, hashed: 'while' });
    assert.match(qemu.output(), /^SQUASHFS-MOUNTS-0$/m);
  } finally {
    qemu.kill();
  }
});

test('a download cut and resumed (-c) is hashed once, whole, at the end, and boots', { skip }, async () => {
  http.requests.length = 0;
  http.faults.cutAfterBytes = 1 << 20;
  // The size probe (busybox --spider is a GET that hangs up after the headers) takes one cut.
  http.faults.cutTimes = 2;
  try {
    const { output, rep } = await bootReport(`rooturl=${http.url('/rootfs.squashfs')}`);
    assert.match(output, /short read: the server closed the connection at byte 1048576/);
    assert.deepEqual(imageGets().slice(1).map((q) => [q.status, q.range ?? '']), [
      [200, ''],
      [206, 'bytes=1048576-'],
    ]);
    assert.match(output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches \\(hashed after the download, [\\d.]+s\\)`));
    assert.deepEqual([rep.verify.result, rep.verify.hashed], ['match', 'after']);
  } finally {
    http.faults.cutAfterBytes = undefined;
    http.faults.cutTimes = undefined;
  }
});

/** sha256 of a file on the ext4 image, read with debugfs (no mount needed). */
function cachedSha(disk: string, name: string): string {
  const bytes = execFileSync('debugfs', ['-R', `cat /ramboot-cache/${name}`, disk], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 << 20 });
  return createHash('sha256').update(bytes).digest('hex');
}

test('cache=LABEL=RAMCACHE: stored after a verified download; the next boot asks the server for nothing; a damaged copy is fetched again', { skip }, async () => {
  const disk = join(set.work, 'cache.img');
  execFileSync('mkfs.ext4', ['-q', '-L', 'RAMCACHE', disk, '128M'], { stdio: 'ignore' });
  const name = `${set.rootSha}.squashfs`;
  const append = `rooturl=${http.url('/rootfs.squashfs')} cache=LABEL=RAMCACHE`;
  const drive = { extraArgs: ['-drive', `file=${disk},format=raw,if=virtio`] };

  http.requests.length = 0;
  const first = await bootReport(append, drive);
  assert.equal(first.rep.cache.result, 'stored', JSON.stringify(first.rep.cache));
  assert.equal(first.rep.cache.found, 'none');
  assert.ok(imageGets().some((q) => q.method === 'GET' && q.status === 200 && q.bytes === imageBytes), 'downloaded');
  assert.match(first.output, /ramboot: cache: stored the image on \/dev\/vda in [\d.]+s for the next boot/);
  assert.equal(cachedSha(disk, name), set.rootSha, 'the whole image is on the disk under its sha256');

  http.requests.length = 0;
  const second = await bootReport(append, drive);
  assert.deepEqual(imageGets(), [], 'not even the size probe: the server log has no request for the image');
  assert.equal(second.rep.cache.result, 'hit');
  assert.equal(second.rep.fetch.url, `dev://LABEL=RAMCACHE/ramboot-cache/${name}`);
  assert.deepEqual([second.rep.verify.result, second.rep.verify.hashed], ['match', 'while']);
  assert.ok(second.rep.fetch.seconds < first.rep.fetch.seconds, `fetch from the cache ${second.rep.fetch.seconds}s, from the network ${first.rep.fetch.seconds}s`);

  // Damage the cached copy (same name, other bytes), as bit rot or a half-written file would.
  const junk = join(set.work, 'junk');
  writeFileSync(junk, Buffer.alloc(1 << 20, 0x55));
  const cmds = join(set.work, 'damage.debugfs');
  writeFileSync(cmds, `cd /ramboot-cache\nrm ${name}\nwrite ${junk} ${name}\n`);
  execFileSync('debugfs', ['-w', '-f', cmds, disk], { stdio: 'ignore' });
  assert.notEqual(cachedSha(disk, name), set.rootSha);

  http.requests.length = 0;
  const third = await bootReport(append, drive);
  assert.match(third.output, new RegExp(`ramboot: warning: cache: ramboot-cache/${name} on /dev/vda is damaged \\(its sha256 is [0-9a-f]{64}\\); fetching it`));
  assert.deepEqual([third.rep.cache.found, third.rep.cache.result], ['mismatch', 'stored']);
  assert.equal(third.rep.fetch.url, http.url('/rootfs.squashfs'));
  assert.ok(imageGets().some((q) => q.method === 'GET' && q.bytes === imageBytes), 'downloaded again');
  assert.equal(cachedSha(disk, name), set.rootSha, 'and the good image is back on the disk');
});
