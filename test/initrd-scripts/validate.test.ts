// The boot side fails closed on numbers and addresses from outside: lib/validate.sh's checks
// themselves, and the places that used to do arithmetic or build mount options and `ip` commands
// with values nobody checked (busybox sh reads 08 as bad octal and dies with PID 1 and no
// `ramboot: error:` line; 20 digits wrap negative; a comma adds a mount option).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX, SCRIPTS, Sandbox, errorLines, fakeUdhcpc } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(cmdline = ''): Sandbox {
  const sb = new Sandbox({ cmdline, conf: { baked: { rootsha256: 'b'.repeat(64) }, facts: { KVER: '6.1.0-test', VERSION: 't' } } });
  sandboxes.push(sb);
  return sb;
}

/** `value -> exit status` of one check for each value, in one shell. */
function statuses(call: (v: string) => string, values: string[]): Record<string, number> {
  const script = values.map((v) => `${call(`'${v}'`)}; echo "$?"`).join('\n');
  const out = sandbox().run(script).stdout.trim().split('\n');
  return Object.fromEntries(values.map((v, i) => [v, Number(out[i])]));
}

test('ram_check_uint: canonical decimal 0..MAX only, never octal, never past 18 digits', () => {
  const good = ['0', '7', '400', '999999999999999999'];
  const bad = ['08', '010', '00', '-1', '+1', '', '1a', ' 1', '1 ', '401', '1000000000000000000', '99999999999999999999', '0x10', '1e3'];
  const max = '999999999999999999';
  const r = statuses((v) => `ram_check_uint ${v} ${v === "'999999999999999999'" ? max : 400}`, [...good, ...bad]);
  for (const v of good) assert.equal(r[v], 0, `${v} refused`);
  for (const v of bad) assert.equal(r[v], 1, `${JSON.stringify(v)} accepted`);
});

test('ram_check_int: a range that may start below zero', () => {
  const r = statuses((v) => `ram_check_int ${v} -1 86400`, ['-1', '0', '86400', '-2', '-0', '-01', '86401', '-', '--1']);
  assert.deepEqual(r, { '-1': 0, '0': 0, '86400': 0, '-2': 1, '-0': 1, '-01': 1, '86401': 1, '-': 1, '--1': 1 });
  assert.deepEqual(statuses((v) => `ram_check_int ${v} 1 999`, ['-1', '0', '1']), { '-1': 1, '0': 1, '1': 0 });
});

test('ram_check_ipv4 and ram_check_size', () => {
  assert.deepEqual(statuses((v) => `ram_check_ipv4 ${v}`, ['10.0.2.15', '0.0.0.0', '255.255.255.255', '010.0.2.15', '256.0.0.1', '1.2.3', '1.2.3.4.5', '1..3.4', '1.2.3.4.', ' 1.2.3.4', '1.2.3.4/24']), {
    '10.0.2.15': 0, '0.0.0.0': 0, '255.255.255.255': 0,
    '010.0.2.15': 1, '256.0.0.1': 1, '1.2.3': 1, '1.2.3.4.5': 1, '1..3.4': 1, '1.2.3.4.': 1, ' 1.2.3.4': 1, '1.2.3.4/24': 1,
  });
  assert.deepEqual(statuses((v) => `ram_check_size ${v}`, ['1', '512K', '2G', '50%', '100%', '0', '0G', '08M', '1G,exec', '101%', '0%', '1T', '1g', 'G', '%']), {
    '1': 0, '512K': 0, '2G': 0, '50%': 0, '100%': 0,
    '0': 1, '0G': 1, '08M': 1, '1G,exec': 1, '101%': 1, '0%': 1, '1T': 1, '1g': 1, 'G': 1, '%': 1,
  });
});

test('ram_need_uint dies through ram_die: one error line, and initrddebug gets its shell', () => {
  let sb = sandbox();
  let r = sb.run('ram_stage_setup >/dev/null; ram_need_uint "fetch: Content-Length of http://h/r" 08 1000; echo went on');
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ["ramboot: error: fetch: Content-Length of http://h/r: '08' is not a whole number from 0 to 1000"]);
  assert.doesNotMatch(r.output, /went on/);
  sb = sandbox('initrddebug=y');
  r = sb.run('ram_stage_setup >/dev/null; ram_need_uint x 99999999999999999999 1000');
  assert.equal(r.status, 1);
  assert.equal(errorLines(r.output).length, 1);
  assert.equal(sb.calls('setsid').length, 1);
});

test('zram_size_pct=08: one error line before any stage, not a shell killed by its own arithmetic', () => {
  // What used to happen: the zram stage multiplied by 08 and the shell died (status 2) silently.
  const zram = sandbox('zram_size_pct=08');
  zram.write('sys/block/zram0/queue/physical_block_size', '4096\n');
  const z = zram.run('ram_stage_setup; ram_stage_zram');
  assert.equal(z.status, 1, z.output);
  assert.deepEqual(errorLines(z.output), ['ramboot: error: zram_size_pct=08: not a whole number from 0 to 400']);
  assert.doesNotMatch(z.output, /arithmetic|syntax error/);
  // Through the real entry it stops before the first stage.
  const sb = sandbox('zram_size_pct=08');
  const r = sb.runEntry();
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), ['ramboot: error: zram_size_pct=08: not a whole number from 0 to 400']);
  assert.doesNotMatch(r.output, /arithmetic|syntax error/);
  assert.deepEqual(sb.calls('modprobe', 'udhcpc', 'wget', 'swapon'), []);
  const debug = sandbox('zram_size_pct=08 initrddebug=y');
  const d = debug.runEntry();
  assert.match(d.output, /^ramboot: error: zram_size_pct=08: .*\nramboot: initrddebug: shell after the error above/m);
  assert.equal(debug.calls('setsid').length, 1);
});

test('overlay_size= cannot add mount options: the tmpfs is mounted only with a checked size', () => {
  for (const bad of ['1G,exec', '1G,nr_inodes=0', '50%,uid=0', '0']) {
    const sb = sandbox(`overlay_size=${bad}`);
    const r = sb.run('ram_stage_setup; echo went on');
    assert.equal(r.status, 1, `${bad}: ${r.output}`);
    assert.deepEqual(errorLines(r.output), [`ramboot: error: overlay_size=${bad}: use bytes with K/M/G (at least 1), or 1%..100% of RAM`]);
  }
});

test('an empty rootsha256= cannot drop the baked pin; off and 64 hex digits in either case pass', () => {
  let r = sandbox('rootsha256=').run('ram_stage_setup');
  assert.equal(r.status, 1);
  assert.deepEqual(errorLines(r.output), ["ramboot: error: rootsha256= is empty: give the image's sha256, or rootsha256=off to boot an unverified image"]);
  r = sandbox('rootsha256').run('ram_stage_setup');
  assert.equal(errorLines(r.output).length, 1, 'a bare rootsha256 is empty too');
  for (const ok of ['off', 'c'.repeat(64), 'C'.repeat(64)]) {
    r = sandbox(`rootsha256=${ok}`).run('ram_stage_setup >/dev/null; echo "pin=$RAM_ROOTSHA256"');
    assert.equal(r.status, 0, r.output);
    assert.match(r.stdout, new RegExp(`^pin=${ok}$`, 'm'));
  }
  r = sandbox().run('ram_stage_setup >/dev/null; echo "pin=$RAM_ROOTSHA256"');
  assert.match(r.stdout, /^pin=b{64}$/m, 'no rootsha256= keeps the baked one');
});

test('a DHCP lease with leading zeros or oversized numbers: a bad address or prefix stops, bad extras are dropped', () => {
  const NET = 'ram_stage_setup >/dev/null; ram_stage_net';
  const LEASE = { RAM_NIC_WAIT_CS: '20', RAM_LINK_WAIT_CS: '20' };
  for (const [lease, want] of [
    [{ ip: '010.0.2.15', mask: '24' }, "ramboot: error: net: eth0: '010.0.2.15' is not an IPv4 address (dhcp)"],
    [{ ip: '10.0.2.15', mask: '024' }, "ramboot: error: net: eth0: '024' is neither a netmask nor a prefix length 0..32 (dhcp)"],
    [{ ip: '10.0.2.15', mask: '99999999999999999999' }, "ramboot: error: net: eth0: '99999999999999999999' is neither a netmask nor a prefix length 0..32 (dhcp)"],
  ] as const) {
    const sb = sandbox('ip=dhcp');
    sb.nic('eth0');
    fakeUdhcpc(sb, { eth0: lease });
    const r = sb.run(NET, LEASE);
    assert.equal(r.status, 1, r.output);
    assert.deepEqual(errorLines(r.output), [want]);
    assert.deepEqual(sb.callLines('ip').filter((l) => l.startsWith('ip addr')), []);
  }
  const sb = sandbox('ip=dhcp');
  sb.nic('eth0');
  fakeUdhcpc(sb, { eth0: { ip: '10.0.2.15', mask: '24', router: '010.0.2.2', dns: '08.8.8.8 10.0.2.3 1.2.3', mtu: '01500', siaddr: '10.0.2.02' } });
  const r = sb.run(`${NET}; echo "server=$RAM_NET_SERVER"`, LEASE);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('ip').filter((l) => !l.endsWith(' up')), ['ip addr add 10.0.2.15/24 dev eth0']);
  assert.equal(sb.read('etc/resolv.conf'), '# Written by ramboot from the dhcp setup of eth0.\nnameserver 10.0.2.3\n');
  assert.match(r.stdout, /^server=$/m);
});

test('static ip= with a prefix of leading zeros or a netmask with holes stops the boot', () => {
  for (const [mask, want] of [
    ['08', "ramboot: error: net: eth0: '08' is neither a netmask nor a prefix length 0..32 (static)"],
    ['255.0.255.0', 'ramboot: error: net: eth0: netmask 255.0.255.0 is not a netmask (static)'],
    ['255.255.255.0255', 'ramboot: error: net: eth0: netmask 255.255.255.0255 is not a netmask (static)'],
  ]) {
    const sb = sandbox(`ip=10.0.2.15::10.0.2.2:${mask}::eth0:off`);
    sb.nic('eth0');
    const r = sb.run('ram_stage_setup >/dev/null; ram_stage_net');
    assert.equal(r.status, 1, r.output);
    assert.deepEqual(errorLines(r.output), [want]);
  }
});

test('as PID 1 the entry drops every RAM_* variable the kernel put in its environment, whatever the values hold', () => {
  // The block only runs as PID 1 (a QEMU boot test covers that); here it runs with the test
  // turned true, against values a command line can carry.
  const ram = readFileSync(join(SCRIPTS, 'ram'), 'utf8');
  const block = /^if \[ "\$\$" = 1 \]; then\n[\s\S]*?^fi$/m.exec(ram)?.[0];
  assert.ok(block, 'the scrub block in initrd-scripts/ram');
  const r = spawnSync(BUSYBOX, ['sh', '-c', `${block.replace('[ "$$" = 1 ]', 'true')}\nexport -p | grep -c '^export RAM_'; echo "keep=$KEEP lib=\${RAM_LIBDIR-unset} z=\${RAM_Z-unset}"`], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', KEEP: "it's kept", RAM_LIBDIR: '/nonexistent', RAM_FETCH_TRIES: '0', RAM_Y: "a 'b'\nRAM_Q=1", RAM_Z: '$(reboot)' },
  });
  assert.equal(r.stdout, "0\nkeep=it's kept lib=unset z=unset\n", r.stderr);
});
