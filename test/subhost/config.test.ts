import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultNameOf, parseCables, parseConfigText, resolveConfig } from '../../src/subhost/config.ts';
import { checkLower, preflight } from '../../src/subhost/preflight.ts';
import { RambootError } from '../../src/errors.ts';

const resolveText = (text: string, name = 'web') => resolveConfig(parseConfigText(text, 'web.conf').raw, 'web.conf', name);
const usage = (re: RegExp) => (e: unknown) => e instanceof RambootError && re.test(e.toLine());

test('defaults: overlay-boot\'s, from BASE and the file name', () => {
  const c = resolveText('BASE=/srv/sub/web\n');
  assert.deepEqual(c, {
    name: 'web', base: '/srv/sub/web', live: '/srv/sub/web/live', lower: '/', upper: '/srv/sub/web/root', work: '/srv/sub/web/work',
    cables: [], start: ['networking', 'ssh'], ramSize: '50M', log: '/tmp/overlay-web.log', source: 'web.conf',
  });
  assert.equal(defaultNameOf('/etc/overlay-boot/vpn.conf'), 'vpn');
  assert.equal(defaultNameOf('/x/plain'), 'plain');
});

test('every field is read; the last occurrence wins; comments, blanks and quotes as sh would', () => {
  const c = resolveText(`# a subhost
NAME=first
NAME=mail
BASE=/srv/mail

LIVE=$BASE/mnt
LOWER=/img/rootfs.squashfs#sha256=${'ab'.repeat(32)}
UPPER=\${BASE}/up
WORK=wk
CABLES=br0=02:00:00:00:00:01 =02:AA:00:00:00:02 br1= br2
START="networking ssh postfix"
RAM_SIZE=none
LOG=/var/log/mail-sub.log
`);
  assert.equal(c.name, 'mail');
  assert.equal(c.live, '/srv/mail/mnt');
  assert.equal(c.lower, '/img/rootfs.squashfs');
  assert.equal(c.lowerSha256, 'ab'.repeat(32));
  assert.equal(c.upper, '/srv/mail/up');
  assert.equal(c.work, '/srv/mail/wk', 'a relative path is taken from BASE');
  assert.deepEqual(c.cables, [
    { bridge: 'br0', mac: '02:00:00:00:00:01' },
    { bridge: '', mac: '02:aa:00:00:00:02' },
    { bridge: 'br1', mac: '' },
    { bridge: 'br2', mac: '' },
  ]);
  assert.deepEqual(c.start, ['networking', 'ssh', 'postfix']);
  assert.equal(c.ramSize, undefined, 'RAM_SIZE=none: no tmpfs on /run');
  assert.equal(c.log, '/var/log/mail-sub.log');
  assert.deepEqual(resolveText("BASE=/b\nSTART=''\nRAM_SIZE=10%\n").start, []);
  assert.equal(resolveText('BASE=/b\nRAM_SIZE=1G\n').ramSize, '1G');
});

test('unknown variables are reported for a warning, not fatal', () => {
  const { raw, unknown } = parseConfigText('BASE=/b\nFOO=1\nSTART=ssh\n', 'x.conf');
  assert.deepEqual(unknown, ['FOO']);
  assert.equal(raw.START, 'ssh');
});

test('bad configuration: one line naming the variable and the fix', () => {
  assert.throws(() => parseConfigText('BASE=/b\nthis is not an assignment\n', 'x.conf'), usage(/^x\.conf:2: not a NAME=value line: .* \(hint: .+\)$/));
  assert.throws(() => resolveText('LIVE=/x\n'), usage(/^BASE is not set in web\.conf \(hint: add BASE=/));
  assert.throws(() => resolveText('BASE=/b\nNAME=thirteen-char\n'), usage(/^NAME 'thirteen-char' in web\.conf is not 1-12/));
  assert.throws(() => resolveText('BASE=/b\nNAME=a/b\n'), usage(/^NAME 'a\/b'/));
  assert.throws(() => resolveText('BASE=/b\nCABLES=br0=02:00:00:00:00\n'), usage(/^CABLES MAC '02:00:00:00:00' of 'br0=02:00:00:00:00' in web\.conf is not six hex pairs/));
  assert.throws(() => parseCables('br/0=02:00:00:00:00:01'), usage(/^CABLES bridge 'br\/0' is not an interface name/));
  assert.throws(() => resolveText('BASE=/b\nRAM_SIZE=50MB\n'), usage(/^RAM_SIZE '50MB' in web\.conf is not a size \(hint: .*none/));
  assert.throws(() => resolveText('BASE=/b\nRAM_SIZE=050M\n'), usage(/^RAM_SIZE '050M'/));
  assert.throws(() => resolveText('BASE=/b\nLOWER=/i.sqfs#sha256=abc\n'), usage(/^LOWER's #sha256= 'abc' in web\.conf is not 64 lowercase hex digits/));
  assert.throws(() => resolveText('BASE=/b\nUPPER=/u,lowerdir=/etc\n'), usage(/^UPPER "\/u,lowerdir=\/etc" in web\.conf has a ','/));
  assert.throws(() => resolveText('BASE=/b\nSTART=ssh;reboot\n'), usage(/^START service 'ssh;reboot' in web\.conf is not a service name/));
});

test('preflight: missing BASE, LIVE absent, WORK on another filesystem, no bridge, a wrong pin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-subhost-cfg-'));
  const base = join(dir, 'base');
  const cfg = (text: string) => resolveConfig(parseConfigText(`BASE=${base}\nLOWER=${dir}/lower\n${text}`, 'pf.conf').raw, 'pf.conf', 'pf');
  await assert.rejects(preflight(cfg('')), usage(/^BASE .*\/base does not exist \(pf\.conf\) \(hint: mkdir -p/));
  mkdirSync(join(base, 'root'), { recursive: true });
  mkdirSync(join(dir, 'lower'));
  await assert.rejects(preflight(cfg('')), usage(/^LIVE .*\/base\/live does not exist \(pf\.conf\) \(hint: mkdir -p .*overlay is mounted there\)$/));
  mkdirSync(join(base, 'live'));
  await assert.rejects(preflight(cfg('')), usage(/^WORK .*\/base\/work does not exist/));
  // /dev/shm is a tmpfs of its own: never UPPER's filesystem.
  const shmWork = mkdtempSync('/dev/shm/rb-subhost-work-');
  await assert.rejects(preflight(cfg(`WORK=${shmWork}`)), usage(/^WORK \/dev\/shm\/rb-subhost-work-\S+ is on another filesystem than UPPER .*\/base\/root \(hint: put WORK next to UPPER/));
  spawnSync('rmdir', [shmWork]);
  mkdirSync(join(base, 'work'));
  await assert.rejects(preflight(cfg('CABLES=rbnosuchbr0=02:00:00:00:00:01')), usage(/^CABLES bridge rbnosuchbr0 \(cable 0\) does not exist or is not a bridge \(hint: create it/));
  const ok = await preflight(cfg(''));
  assert.deepEqual(ok, { lower: 'dir', upper: 'dir' });

  writeFileSync(join(dir, 'img'), Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(96)]));
  writeFileSync(join(dir, 'notimg'), 'hello');
  const lower = (l: string) => resolveConfig({ BASE: base, LOWER: l }, 'pf.conf', 'pf');
  assert.equal(await checkLower(lower(join(dir, 'img'))), 'squashfs');
  await assert.rejects(checkLower(lower(`${dir}/img#sha256=${'0'.repeat(64)}`)), usage(/^LOWER .*\/img has sha256 [0-9a-f]{64}, the pin says 0{64} \(hint: /));
  await assert.rejects(checkLower(lower(join(dir, 'notimg'))), usage(/^LOWER .*\/notimg is not a squashfs image/));
  await assert.rejects(checkLower(lower(`${dir}/lower#sha256=${'0'.repeat(64)}`)), usage(/is a directory but has a #sha256= pin/));
  rmSync(dir, { recursive: true });
});

test('the CLI prints a bad config as one error line, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-subhost-cli-'));
  writeFileSync(join(dir, 'x.conf'), 'LOWER=/\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', join(dir, 'x.conf')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^ramboot: error: BASE is not set in .*x\.conf \(hint: add BASE=/);
  const flags = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--lower', '/'], { encoding: 'utf8' });
  assert.equal(flags.status, 2);
  assert.match(flags.stderr, /^ramboot: error: ramboot run needs a config file, or --lower and --upper \(hint: /);
  rmSync(dir, { recursive: true });
});
