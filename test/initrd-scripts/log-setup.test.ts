// Logging, the failure policy, breakpoints and the setup stage.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, errorLines } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(...args: ConstructorParameters<typeof Sandbox>): Sandbox {
  const sb = new Sandbox(...args);
  sandboxes.push(sb);
  return sb;
}

test('setup mounts /proc, /sys, devtmpfs and /run, in that order, and reports the start', () => {
  const sb = sandbox();
  const r = sb.run('ram_stage_setup');
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('mount'), [
    'mount -t proc -o nosuid,nodev,noexec proc $P/proc',
    'mount -t sysfs -o nosuid,nodev,noexec sysfs $P/sys',
    'mount -t devtmpfs -o nosuid,mode=0755 devtmpfs $P/dev',
    'mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs $P/run',
  ]);
  assert.match(r.stdout, /^ramboot: version 0\.0\.0-test, kernel 6\.1\.0-test, 12\.34s after boot$/m);
});

test('boot= other than ram stops with one error line and exit 1', () => {
  const r = sandbox({ cmdline: 'boot=live' }).run('ram_stage_setup');
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: boot=live: this initrd only boots boot=ram']);
});

test('a zram_size_pct that is not a number stops the boot naming the parameter', () => {
  const r = sandbox({ cmdline: 'zram_size_pct=lots' }).run('ram_stage_setup');
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: zram_size_pct=lots: not a whole number from 0 to 400']);
});

test('an unknown initrddebug value is an error that still opens the shell it asked for', () => {
  const sb = sandbox({ cmdline: 'initrddebug=fecth' });
  const r = sb.run('ram_stage_setup; echo "went on"');
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: initrddebug=fecth: use one of y n ssh modules net fetch verify zram mount fixups switch']);
  assert.doesNotMatch(r.stdout, /went on/);
  assert.equal(sb.calls('setsid').length, 1);
});

test('ramdebug turns on xtrace after the command line is read', () => {
  const r = sandbox({ cmdline: 'ramdebug' }).run('ram_stage_setup; ram_log traced');
  assert.match(r.stderr, /^\+ ram_log traced$/m);
});

test('without a ram.conf the boot stops saying the initrd is not ramboot\'s', () => {
  const sb = sandbox();
  sb.write('etc/ram.conf', '');
  const r = sb.run('rm "$RAM_PREFIX/etc/ram.conf"; ram_stage_setup');
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: no /etc/ram.conf: this initrd was not built by ramboot']);
});

test('ram_log goes to /dev/kmsg only when the kernel echoes that level on the console itself', () => {
  const sb = sandbox();
  const kmsg = sb.write('dev/kmsg-file', '');
  sb.write('proc/sys/kernel/printk', '7\t4\t1\t7\n');
  let r = sb.run('RAM_KMSG=$RAM_KMSG; ram_stage_setup >/dev/null; ram_log hello; ram_warn careful', { RAM_KMSG: kmsg });
  assert.equal(r.stdout, '', 'console_loglevel 7 prints levels 6 and 4 itself');
  assert.match(sb.read('dev/kmsg-file'), /^<6>ramboot: hello\n<4>ramboot: warning: careful\n$/m);
  sb.write('proc/sys/kernel/printk', '4\t4\t1\t7\n');
  sb.write('dev/kmsg-file', '');
  r = sb.run('ram_stage_setup >/dev/null; ram_log hello; ram_warn careful', { RAM_KMSG: kmsg });
  assert.equal(r.stdout, 'ramboot: hello\nramboot: warning: careful\n', 'quiet (4): the script echoes what the kernel hides');
  assert.match(sb.read('dev/kmsg-file'), /<6>ramboot: hello\n<4>ramboot: warning: careful\n$/);
});

test('ram_die without initrddebug: one error line, no shell, exit 1', () => {
  const sb = sandbox();
  const r = sb.run('ram_stage_setup >/dev/null; ram_die "something broke: because"; echo not reached');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, 'ramboot: error: something broke: because\n');
  assert.deepEqual(sb.calls('setsid'), []);
});

test('ram_die with initrddebug set opens the console shell first, then still exits', () => {
  const sb = sandbox({ cmdline: 'initrddebug=net' });
  const r = sb.run('ram_stage_setup >/dev/null; ram_die "something broke"');
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^ramboot: error: something broke\nramboot: initrddebug: shell after the error above \(exit to give up; the kernel then panics\)\n$/);
  assert.deepEqual(sb.callLines('setsid'), ['setsid cttyhack sh -i']);
});

test('breakpoints: initrddebug=<stage> before that stage, initrddebug=y before switch only', () => {
  let sb = sandbox({ cmdline: 'initrddebug=fetch' });
  let r = sb.run('ram_stage_setup >/dev/null; for s in $RAM_STAGES; do ram_breakpoint $s; done');
  assert.equal(r.stdout, 'ramboot: initrddebug: shell before fetch (exit to continue)\n');
  assert.equal(sb.calls('setsid').length, 1);
  sb = sandbox({ cmdline: 'initrddebug' });
  r = sb.run('ram_stage_setup >/dev/null; for s in $RAM_STAGES; do ram_breakpoint $s; done');
  assert.equal(r.stdout, 'ramboot: initrddebug: shell before switch (exit to continue)\n');
  sb = sandbox();
  r = sb.run('ram_stage_setup >/dev/null; for s in $RAM_STAGES; do ram_breakpoint $s; done');
  assert.equal(r.stdout, '');
  assert.deepEqual(sb.calls('setsid'), []);
});

test('ram_must quotes the failed tool\'s last stderr line', () => {
  const sb = sandbox();
  sb.stub('swapon', 'echo "swapon: first line" >&2; echo "swapon: the real reason" >&2; exit 1');
  const r = sb.run('ram_stage_setup >/dev/null; ram_must "zram: swapon" swapon /dev/zram0');
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: zram: swapon: swapon: the real reason']);
});

test('modules: one modprobe for the whole list when it works', () => {
  const sb = sandbox({ conf: { facts: { KVER: '6.1.0-test', FORCE_LOAD: 'loop squashfs lzo-rle' } } });
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules');
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe -q -a loop squashfs lzo-rle']);
});

test('modules: after a failure the rest load one by one and the failures are named, not fatal', () => {
  const sb = sandbox({ conf: { facts: { KVER: '6.1.0-test', FORCE_LOAD: 'loop hv_netvsc lzo-rle virtio_net' } } });
  sb.write('sys/module/loop/refcnt', '0\n');
  sb.stub('modprobe', 'case "$*" in *-a*|*hv_netvsc*) exit 1;; esac; exit 0');
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules; echo rc=$?');
  assert.match(r.stdout, /^ramboot: warning: modules: could not load: hv_netvsc \(dmesg says why\)$/m);
  assert.deepEqual(sb.callLines('modprobe'), [
    'modprobe -q -a loop hv_netvsc lzo-rle virtio_net',
    'modprobe -q hv_netvsc',
    'modprobe -q lzo-rle',
    'modprobe -q virtio_net',
  ]);
});

test('modules: modules for another kernel stop the boot naming both versions', () => {
  const sb = sandbox({ osrelease: '6.1.0-99-amd64', conf: { facts: { KVER: '6.1.0-1-amd64', FORCE_LOAD: 'loop' } } });
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules');
  assert.equal(r.status, 1);
  assert.match(errorLines(r.output)[0] ?? '', /modules for kernel 6\.1\.0-1-amd64 but the running kernel is 6\.1\.0-99-amd64/);
  assert.deepEqual(sb.calls('modprobe'), []);
});
