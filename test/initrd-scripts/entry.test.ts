// The real entry, initrd-scripts/ram, end to end on a fake tree with every host-changing command
// stubbed: the stage order, the progress lines the boot test reads, and the handoff.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { BUSYBOX, SCRIPTS, Sandbox, errorLines, fakeUdhcpc } from './harness.ts';
import { join } from 'node:path';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));

const IMAGE = 'hsqs pretend image\n';
const SHA = createHash('sha256').update(IMAGE).digest('hex');

function bootable(cmdline: string): Sandbox {
  const sb = new Sandbox({
    cmdline,
    conf: { baked: { rootsha256: SHA }, facts: { KVER: '6.1.0-test', FORCE_LOAD: 'zram lzo-rle', ROOTSIZE: String(IMAGE.length), VERSION: '0.1.0' } },
  });
  sandboxes.push(sb);
  sb.nic('eth0');
  fakeUdhcpc(sb, { eth0: { ip: '10.0.2.15', mask: '24', router: '10.0.2.2', dns: '10.0.2.3' } });
  sb.stub('wget', `out=; while [ $# -gt 1 ]; do [ "$1" = -O ] && out=$2; shift; done; [ -z "$out" ] || printf '${IMAGE.replace('\n', '\\n')}' >"$out"`);
  sb.stub('modprobe', 'mkdir -p "$RAM_PREFIX/sys/block/zram0/queue"; echo 4096 >"$RAM_PREFIX/sys/block/zram0/queue/physical_block_size"');
  mkdirSync(sb.path('newroot/sbin'), { recursive: true });
  mkdirSync(sb.path('newroot/etc/systemd'), { recursive: true });
  writeFileSync(sb.path('newroot/sbin/init'), '#!/bin/sh\n');
  chmodSync(sb.path('newroot/sbin/init'), 0o755);
  return sb;
}

// verify is no stage of its own: the digest is taken during the fetch (issue 16).
const STAGES = ['modules', 'net', 'fetch', 'zram', 'mount', 'fixups'];

test('a whole boot: every stage reports its time, then switch_root runs the init with its arguments', () => {
  const sb = bootable('console=ttyS0 boot=ram ip=dhcp rooturl=http://10.0.2.2:8000/rootfs.squashfs zram_size_pct=25 panic=10');
  const r = sb.runEntry(['single']);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(errorLines(r.output), []);
  const progress = [...r.stdout.matchAll(/^ramboot: stage (\w+) done in (\d+\.\d\d)s$/gm)].map((m) => m[1]);
  assert.deepEqual(progress, STAGES);
  assert.match(r.stdout, /^ramboot: switching to \/sbin\/init, \d+\.\d\ds after boot$/m);
  const calls = sb.callLines('modprobe', 'udhcpc', 'wget', 'swapon', 'switch_root').map((l) => l.split(' ').slice(0, 3).join(' '));
  assert.deepEqual(calls, [
    'modprobe -q -a',
    'udhcpc -f -q',
    'wget -q -S',
    'wget -q -O',
    'modprobe -q lzo-rle',
    'swapon $P/dev/zram0',
    'switch_root $P/newroot /sbin/init',
  ]);
  assert.deepEqual(sb.calls('switch_root')[0]!.slice(3), ['single']);
  assert.equal(sb.read('newroot/etc/systemd/network/90-ramboot-dhcp.network').includes('DHCP=yes'), true);
});

test('initrddebug=y: the shell comes just before the switch, and the boot goes on when it exits', () => {
  const sb = bootable('rooturl=http://10.0.2.2:8000/rootfs.squashfs initrddebug=y');
  const r = sb.runEntry();
  assert.equal(r.status, 0, r.output);
  const banner = r.stdout.indexOf('ramboot: initrddebug: shell before switch (exit to continue)');
  assert.ok(banner > r.stdout.indexOf('ramboot: stage fixups done'), r.stdout);
  assert.ok(banner < r.stdout.indexOf('ramboot: switching to'), r.stdout);
  assert.deepEqual(sb.callLines('setsid'), ['setsid cttyhack sh -i']);
  assert.equal(sb.calls('switch_root').length, 1);
});

test('a baked rootsha256 that the image does not match stops before anything is mounted', () => {
  const sb = bootable('rooturl=http://10.0.2.2:8000/rootfs.squashfs');
  sb.stub('wget', 'out=; while [ $# -gt 1 ]; do [ "$1" = -O ] && out=$2; shift; done; [ -z "$out" ] || echo tampered >"$out"');
  const r = sb.runEntry();
  assert.equal(r.status, 1);
  const [line] = errorLines(r.output);
  assert.match(line!, new RegExp(`^ramboot: error: checksum mismatch for http://10\\.0\\.2\\.2:8000/rootfs\\.squashfs: got [0-9a-f]{64}, expected ${SHA} `));
  assert.ok(!sb.callLines('mount').some((l) => l.includes('squashfs')), 'the image was never mounted');
  assert.deepEqual(sb.calls('switch_root', 'swapon'), []);
});

test('the boot report and log: /run/ramboot/report.json is JSON with every stage, fetch, memory and checksum; the log has every line', () => {
  const sb = bootable('rooturl=http://10.0.2.2:8000/rootfs.squashfs zram_size_pct=25');
  const r = sb.runEntry();
  assert.equal(r.status, 0, r.output);
  const report = JSON.parse(sb.read('run/ramboot/report.json'));
  assert.deepEqual(Object.keys(report.stages), STAGES);
  assert.equal(report.version, '0.1.0');
  assert.deepEqual([report.fetch.url, report.fetch.bytes, report.fetch.attempts], ['http://10.0.2.2:8000/rootfs.squashfs', IMAGE.length, 1]);
  assert.equal(typeof report.fetch.mib_per_s, 'number');
  assert.deepEqual({ ...report.verify, seconds: 0 }, { result: 'match', sha256: SHA, hashed: 'while', seconds: 0 });
  assert.deepEqual(report.memory.checked_before_fetch, 'built into the initrd');
  assert.equal(report.memory.overlay_size, '50%');
  assert.deepEqual(report.zram, { devices: 1, algorithm: 'lzo-rle', kib_each: 250_000 });
  assert.equal(report.net.iface, 'eth0');
  const log = sb.read('run/ramboot/log');
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('ramboot: ') && !l.includes('version'))) assert.ok(log.includes(line), line);

  const bad = bootable('rooturl=http://10.0.2.2:8000/rootfs.squashfs');
  bad.stub('wget', 'out=; while [ $# -gt 1 ]; do [ "$1" = -O ] && out=$2; shift; done; [ -z "$out" ] || echo "ta\\"mpered" >"$out"');
  assert.equal(bad.runEntry().status, 1);
  const failed = JSON.parse(bad.read('run/ramboot/report.json'));
  assert.match(failed.error, /^checksum mismatch for http:\/\/10\.0\.2\.2:8000\/rootfs\.squashfs: got/);
  assert.equal(failed.verify.result, 'mismatch');
  // The check ends the fetch stage, so a mismatch stops the boot inside it.
  assert.deepEqual(Object.keys(failed.stages), ['modules', 'net']);
});

test('run by hand outside an initrd (not PID 1, no RAM_PREFIX) it refuses before touching anything', () => {
  const r = spawnSync(BUSYBOX, ['sh', join(SCRIPTS, 'ram')], { encoding: 'utf8', env: { PATH: '/nonexistent', RAM_LIBDIR: join(SCRIPTS, 'lib') }, ...(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}) });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'ramboot: not PID 1 and no RAM_PREFIX: refusing to mount over this system\n');
});
