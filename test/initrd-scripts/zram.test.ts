// The zram stage against a fake sysfs: size from MemTotal, compressor first, then the swap header and swapon.
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
  // Like the real module: loading zram creates num_devices devices (zram0, ...), whose physical
  // block size is the page size.
  sb.stub('modprobe', `case "$*" in *zram*)
n=1; case "$*" in *num_devices=*) n=\${2#num_devices=} ;; esac
i=0; while [ $i -lt $n ]; do mkdir -p "$RAM_PREFIX/sys/block/zram$i/queue"; echo 4096 >"$RAM_PREFIX/sys/block/zram$i/queue/physical_block_size"; i=$((i + 1)); done ;;
esac`);
  sb.write('proc/cpuinfo', 'processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\nmodel name\t: x\n\nprocessor\t: 2\n');
  return sb;
}
const ZRAM = 'ram_stage_setup >/dev/null; ram_stage_zram';

test('zram_size_pct=25: zram and its compressor loaded, algorithm then disksize written, swap header, swapon', () => {
  const sb = sandbox('zram_size_pct=25');
  const r = sb.run(ZRAM);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('modprobe', 'swapon'), [
    'modprobe zram num_devices=1',
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
  assert.deepEqual(sb.calls('modprobe', 'swapon'), []);
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

test('zram_devices=cores: one device per CPU, the size split between them, each its own swap', () => {
  const sb = sandbox('zram_size_pct=30 zram_devices=cores zram_algo=lz4');
  const r = sb.run(ZRAM);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('modprobe', 'swapon'), [
    'modprobe zram num_devices=3',
    'modprobe -q lz4',
    'swapon $P/dev/zram0',
    'swapon $P/dev/zram1',
    'swapon $P/dev/zram2',
  ]);
  for (const i of [0, 1, 2]) {
    assert.equal(sb.read(`sys/block/zram${i}/disksize`), '200000K\n', '30% of 2000000 kB over 3 devices');
    assert.equal(sb.read(`sys/block/zram${i}/comp_algorithm`), 'lz4\n');
    assert.equal(readFileSync(sb.path(`dev/zram${i}`)).subarray(4086, 4096).toString(), 'SWAPSPACE2');
  }
  assert.match(r.stdout, /^ramboot: zram: 585 MiB of swap on \/dev\/zram0 \/dev\/zram1 \/dev\/zram2 \(lz4, 30% of RAM\)$/m);
});

test('zram_devices=2 with zram already present: the second device comes from zram-control/hot_add', () => {
  const sb = sandbox('zram_devices=2');
  mkdirSync(sb.path('sys/block/zram0/queue'), { recursive: true });
  writeFileSync(sb.path('sys/block/zram0/queue/physical_block_size'), '4096\n');
  // Reading hot_add makes the kernel create the next device; the fake sysfs has it up front.
  mkdirSync(sb.path('sys/class/zram-control'), { recursive: true });
  writeFileSync(sb.path('sys/class/zram-control/hot_add'), '1\n');
  mkdirSync(sb.path('sys/block/zram1/queue'), { recursive: true });
  writeFileSync(sb.path('sys/block/zram1/queue/physical_block_size'), '4096\n');
  const r = sb.run(ZRAM);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe -q lzo-rle'], 'zram is not loaded again');
  assert.deepEqual(sb.callLines('swapon'), ['swapon $P/dev/zram0', 'swapon $P/dev/zram1']);

  const missing = sandbox('zram_devices=2');
  mkdirSync(missing.path('sys/block/zram0/queue'), { recursive: true });
  assert.deepEqual(errorLines(missing.run(ZRAM).output), ['ramboot: error: zram: cannot add /dev/zram1 (zram_devices=2)']);
});

test('zram_algo= the kernel does not offer falls back with a warning; a bad zram_devices is named', () => {
  const sb = sandbox('zram_algo=zstd');
  mkdirSync(sb.path('sys/block/zram0/queue'), { recursive: true });
  writeFileSync(sb.path('sys/block/zram0/queue/physical_block_size'), '4096\n');
  writeFileSync(sb.path('sys/block/zram0/comp_algorithm'), 'lzo [lzo-rle] lz4\n');
  const r = sb.run(ZRAM);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: warning: zram: this kernel has no zstd compressor \(zram_algo=; it offers: lzo \[lzo-rle\] lz4\); using lzo-rle$/m);
  assert.equal(sb.read('sys/block/zram0/comp_algorithm'), 'lzo-rle\n');
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe -q zstd', 'modprobe -q lzo-rle']);

  for (const bad of ['0', 'many', '1000']) {
    // Checked with every parameter when the command line is read, before any stage runs.
    assert.deepEqual(errorLines(sandbox(`zram_devices=${bad}`).run('ram_stage_setup').output), [`ramboot: error: zram_devices=${bad}: not a whole number from 1 to 999, nor cores`]);
  }
});

test('the default compressor on a kernel without lzo-rle (Debian 13): the first one offered, silently', () => {
  const sb = sandbox('zram_size_pct=25');
  mkdirSync(sb.path('sys/block/zram0/queue'), { recursive: true });
  writeFileSync(sb.path('sys/block/zram0/queue/physical_block_size'), '4096\n');
  // What Debian 13's 6.12 cloud kernel lists: zram's built-in backends, no lzo-rle or lzo.
  writeFileSync(sb.path('sys/block/zram0/comp_algorithm'), 'lz4 lz4hc [zstd] deflate 842\n');
  const r = sb.run(ZRAM);
  assert.equal(r.status, 0, r.output);
  assert.doesNotMatch(r.output, /warning/);
  assert.equal(sb.read('sys/block/zram0/comp_algorithm'), 'lz4\n');
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe -q lzo-rle', 'modprobe -q lzo', 'modprobe -q lz4'], 'each choice once, in the table order');
  assert.match(r.stdout, /^ramboot: zram: 488 MiB of swap on \/dev\/zram0 \(lz4, 25% of RAM\)$/m);

  // The same kernel with zram_algo=lzo-rle asked for by name: the fallback is the same, but said.
  const asked = sandbox('zram_algo=lzo-rle');
  mkdirSync(asked.path('sys/block/zram0/queue'), { recursive: true });
  writeFileSync(asked.path('sys/block/zram0/queue/physical_block_size'), '4096\n');
  writeFileSync(asked.path('sys/block/zram0/comp_algorithm'), 'lz4 lz4hc [zstd] deflate 842\n');
  const w = asked.run(ZRAM);
  assert.equal(w.status, 0, w.output);
  assert.match(w.stdout, /^ramboot: warning: zram: this kernel has no lzo-rle compressor \(zram_algo=; it offers: lz4 lz4hc \[zstd\] deflate 842\); using lz4$/m);
});
