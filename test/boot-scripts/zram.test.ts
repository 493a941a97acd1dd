// The zram stage against a fake sysfs: size from MemTotal, compressor first, then mkswap/swapon.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { BUSYBOX, Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(cmdline: string): Sandbox {
  const sb = new Sandbox({ cmdline, memTotalKiB: 2_000_000 });
  sandboxes.push(sb);
  // Like the real module: loading zram creates zram0, whose physical block size is the page size.
  sb.stub('modprobe', 'case "$*" in *zram*) mkdir -p "$RAM_PREFIX/sys/block/zram0/queue"; echo 4096 >"$RAM_PREFIX/sys/block/zram0/queue/physical_block_size" ;; esac');
  return sb;
}
const ZRAM = 'ram_stage_setup >/dev/null; ram_stage_zram';

test('zram_size_pct=25: zram and its compressor loaded, algorithm then disksize written, swap header, swapon', () => {
  const sb = sandbox('zram_size_pct=25');
  const r = sb.run(ZRAM);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('modprobe', 'mkswap', 'swapon'), [
    'modprobe zram',
    'modprobe -q lzo-rle',
    'swapon $P/dev/zram0',
  ]);
  assert.equal(sb.read('sys/block/zram0/comp_algorithm'), 'lzo-rle\n');
  assert.equal(sb.read('sys/block/zram0/disksize'), '500000K\n', '25% of MemTotal 2000000 kB');
  assert.match(r.stdout, /^ramboot: zram: 488 MiB of swap on \/dev\/zram0 \(lzo-rle, 25% of RAM\)$/m);
});

test('the swap header is the one mkswap writes, less the UUID', () => {
  const sb = sandbox('zram_size_pct=25');
  assert.equal(sb.run(ZRAM).status, 0);
  const ours = readFileSync(sb.path('dev/zram0'));
  // busybox mkswap on a file as big as the device (500000 KiB), for reference
  const ref = sb.path('tmp/ref.swap');
  writeFileSync(ref, '');
  truncateSync(ref, 500_000 * 1024);
  const mk = spawnSync(BUSYBOX, ['mkswap', ref], { encoding: 'utf8' });
  assert.equal(mk.status, 0, mk.stderr);
  const theirs = Buffer.alloc(4096);
  const fd = openSync(ref, 'r');
  readSync(fd, theirs, 0, 4096, 0);
  closeSync(fd);
  assert.deepEqual(ours.subarray(1024, 1036), theirs.subarray(1024, 1036), 'version, last_page, nr_badpages');
  assert.equal(ours.readUInt32LE(1028), 500_000 / 4 - 1);
  assert.equal(ours.subarray(4086, 4096).toString(), 'SWAPSPACE2');
  assert.deepEqual(theirs.subarray(4086, 4096), ours.subarray(4086, 4096));
  assert.ok(ours.subarray(0, 1024).every((b) => b === 0) && ours.subarray(1036, 4086).every((b) => b === 0), 'nothing else is written');
});

test('zram_algo=zstd loads and selects zstd; an already present zram0 is not loaded again', () => {
  const sb = sandbox('zram_algo=zstd');
  mkdirSync(sb.path('sys/block/zram0/queue'), { recursive: true });
  writeFileSync(sb.path('sys/block/zram0/queue/physical_block_size'), '4096\n');
  const r = sb.run(ZRAM);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe -q zstd']);
  assert.equal(sb.read('sys/block/zram0/comp_algorithm'), 'zstd\n');
  assert.equal(sb.read('sys/block/zram0/disksize'), '1000000K\n', 'the default is 50%');
});

test('zram_size_pct=0 does nothing at all', () => {
  const sb = sandbox('zram_size_pct=0');
  const r = sb.run(ZRAM);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('modprobe', 'mkswap', 'swapon'), []);
  assert.equal(sb.exists('sys/block/zram0'), false);
  assert.match(r.stdout, /^ramboot: zram: off \(zram_size_pct=0\)$/m);
});

test('a device that refuses its size (no compressor) stops the boot naming the algorithm', () => {
  const sb = sandbox('zram_size_pct=10');
  mkdirSync(sb.path('sys/block/zram0/disksize'), { recursive: true });
  const r = sb.run(ZRAM);
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), [
    'ramboot: error: zram: /dev/zram0 refused a size of 200000 KiB with lzo-rle (its compressor module missing? see dmesg)',
  ]);
  assert.deepEqual(sb.calls('swapon'), []);
});

test('a failing swapon is fatal and quoted', () => {
  const sb = sandbox('');
  sb.stub('swapon', 'echo "swapon: /dev/zram0: swapon failed: Invalid argument" >&2; exit 1');
  const r = sb.run(ZRAM);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: zram: swapon /dev/zram0: swapon: /dev/zram0: swapon failed: Invalid argument']);
});
