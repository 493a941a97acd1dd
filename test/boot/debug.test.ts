// Debugging and zram, booted in QEMU from a set whose init also prints the boot report
// (/run/ramboot/report.json) and the log kept in /run/ramboot after the switch:
// initrddebug=<stage> at two stages, ramdebug's trace, zram_devices=cores with lz4, zram off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { MARKER_INIT, parseInitMarkers } from '../../src/lab/demo-root.ts';
import { buildSet, skip, type BuiltSet, consoleReport } from './image-set.ts';

const INIT = MARKER_INIT.replace(
  'echo "RAMBOOT-DONE"',
  `echo "RAMBOOT-REPORT $(cat /run/ramboot/report.json)"
echo "RAMBOOT-LOG $(grep -c '^ramboot: stage .* done in' /run/ramboot/log) stage lines"
echo "RAMBOOT-DONE"`,
);

let set: BuiltSet;
let http: Awaited<ReturnType<typeof startHttpServer>>;

before(async () => {
  if (skip) return;
  set = await buildSet('debug', INIT);
  http = await startHttpServer(set.out);
});

after(async () => {
  await http?.close();
  set?.cleanup();
});

const report = consoleReport;

test('zram_devices=cores (-smp 2) with zram_algo=lz4: two swaps of 12.5% each; the report and log survive the switch', { skip }, async () => {
  const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')} zram_size_pct=25 zram_devices=cores zram_algo=lz4`, /RAMBOOT-DONE/, { cpus: 2 });
  const m = parseInitMarkers(r.output);
  assert.ok(m.done, r.output.slice(-3000));
  const zram = m.swaps.filter((s) => s.name.startsWith('/dev/zram'));
  assert.deepEqual(zram.map((s) => s.name), ['/dev/zram0', '/dev/zram1']);
  const each = (m.memTotalKiB ?? 0) * 0.125;
  for (const s of zram) assert.ok(Math.abs(s.sizeKiB - each) / each < 0.01, `${s.name} ${s.sizeKiB} KiB is 12.5% of ${m.memTotalKiB}`);
  assert.match(r.output, /ramboot: zram: \d+ MiB of swap on \/dev\/zram0 \/dev\/zram1 \(lz4, 25% of RAM\)/);

  const rep = report(r.output);
  // verify is a point inside fetch now (the digest is taken during the download), not a stage.
  assert.deepEqual(Object.keys(rep.stages), ['modules', 'net', 'fetch', 'zram', 'mount', 'fixups']);
  for (const s of Object.values(rep.stages)) assert.equal(typeof s, 'number');
  assert.equal(rep.fetch.bytes, statSync(join(set.out, 'rootfs.squashfs')).size);
  assert.equal(rep.fetch.url, http.url('/rootfs.squashfs'));
  assert.ok(rep.fetch.mib_per_s > 0);
  assert.deepEqual({ ...rep.verify, seconds: 0 }, { result: 'match', sha256: set.rootSha, hashed: 'while', seconds: 0 });
  assert.equal(rep.memory.checked_before_fetch, `Content-Length of ${http.url('/rootfs.squashfs')}`);
  assert.ok(rep.memory.available_kib > rep.memory.image_kib);
  assert.deepEqual([rep.zram.devices, rep.zram.algorithm], [2, 'lz4']);
  // /proc/swaps counts whole pages, less the header page.
  assert.equal(Math.floor(rep.zram.kib_each / 4) * 4 - 4, zram[0]!.sizeKiB);
  assert.match(r.output, /RAMBOOT-LOG 6 stage lines/);
});

test('initrddebug=fetch with ramdebug and zram off: a traced boot stops before the fetch, then goes on', { skip }, async () => {
  const qemu = set.start(`rooturl=${http.url('/rootfs.squashfs')} zram_size_pct=0 initrddebug=fetch ramdebug`);
  try {
    await qemu.waitFor(/initrddebug: shell before fetch/, 90_000);
    const before = qemu.output();
    assert.match(before, /ramboot: stage net done/);
    assert.doesNotMatch(before, /ramboot: fetch:/);
    assert.match(before, /^\+ ram_stage_net\b/m, 'ramdebug traces the script');
    qemu.send('exit\n');
    await qemu.waitFor(/RAMBOOT-DONE/, 60_000);
    const out = qemu.output();
    const m = parseInitMarkers(out);
    assert.equal(m.pid, 1);
    assert.deepEqual(m.swaps.filter((s) => s.name.startsWith('/dev/zram')), [], 'zram_size_pct=0: no zram swap');
    assert.equal(report(out).zram, 'off');
  } finally {
    qemu.kill();
  }
});

test('initrddebug=mount: the shell sees the fetched, verified image before anything is mounted', { skip }, async () => {
  const qemu = set.start(`rooturl=${http.url('/rootfs.squashfs')} initrddebug=mount`);
  try {
    await qemu.waitFor(/initrddebug: shell before mount/, 90_000);
    assert.match(qemu.output(), /ramboot: stage zram done/);
    qemu.send('ls /run/ramboot/image | sed "s/^/IMG-/"; grep -c " /newroot " /proc/mounts | sed "s/^/NEWROOT-MOUNTS-/"\n');
    await qemu.waitFor(/NEWROOT-MOUNTS-\d+\n/, 20_000);
    assert.match(qemu.output(), /^IMG-rootfs\.squashfs$/m);
    assert.match(qemu.output(), /^NEWROOT-MOUNTS-0$/m);
    qemu.send('exit\n');
    await qemu.waitFor(/RAMBOOT-DONE/, 60_000);
    assert.equal(parseInitMarkers(qemu.output()).pid, 1);
  } finally {
    qemu.kill();
  }
});
