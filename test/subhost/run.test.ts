// Real subhosts, as root on this machine (no QEMU): a squashfs LOWER built by `ramboot rootfs`
// from a busybox tree, a cable into a bridge of a test network namespace, a service answering
// through it, then stop and nothing left. With CI=true a missing tool or no root fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../../src/util/sha256.ts';
import { STATE_DIR } from '../../src/subhost/state.ts';
import { skipWithout } from '../support/require-tool.ts';
import { buildSubhostImage, HOST_IP, SUBHOST_IP } from './image.ts';
import { CLI, leftovers, makeTestNet, nsOf, readStateNow, sh, startRun } from './harness.ts';

const skip =
  (process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root (namespaces, mounts, veth)' : false) ||
  skipWithout('tini', ['--version'], 'apt-get install tini') ||
  skipWithout('mksquashfs', ['-version'], 'apt-get install squashfs-tools') ||
  skipWithout('unshare', ['--version'], 'apt-get install util-linux');

const testNet = `rbsub-${process.pid}`;
const tag = (process.pid % 10000).toString(36);
let dir = '';
let image = '';
let imageSha = '';
let removeNet: () => void = () => undefined;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'rb-subhost-'));
  ({ image, sha256: imageSha } = await buildSubhostImage(dir));
  removeNet = makeTestNet(testNet, HOST_IP);
});

after(() => {
  removeNet();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ramboot = (...args: string[]) => spawnSync('nsenter', [`--net=/run/netns/${testNet}`, process.execPath, ...CLI, ...args], { encoding: 'utf8' });
const fetchWeb = () => sh('nsenter', [`--net=/run/netns/${testNet}`, 'busybox', 'wget', '-qO-', `http://${SUBHOST_IP}/`]);

test('a squashfs subhost: own namespaces, service through the cable, writes in UPPER only, nothing left after stop', { skip }, async () => {
  const name = `web${tag}`;
  const base = join(dir, name);
  for (const d of ['live', 'root', 'work']) mkdirSync(join(base, d), { recursive: true });
  const conf = join(dir, `${name}.conf`);
  // An overlay-boot config as its examples write them: BASE, LIVE/UPPER/WORK, CABLES, START.
  writeFileSync(conf, `BASE=${base}\nLIVE=${base}/live\nUPPER=${base}/root\nWORK=${base}/work\nLOWER=${image}#sha256=${imageSha}\nCABLES=rbbr0=02:00:00:00:00:2a\nSTART="web"\nLOG=${base}.log\n`);

  const run = await startRun(testNet, [conf]);
  const state = readStateNow(name);
  assert.equal(state.mode, 'services');
  for (const ns of ['pid', 'uts', 'net', 'mnt', 'ipc']) assert.notEqual(nsOf(state.initPid, ns), nsOf('self', ns), `own ${ns} namespace`);
  assert.equal(nsOf(state.initPid, 'net'), `net:[${spawnSync('stat', ['-L', '-c', '%i', `/run/netns/${name}`], { encoding: 'utf8' }).stdout.trim()}]`, 'the named netns (ip netns)');
  const pidNs = nsOf(state.initPid, 'pid');

  const page = fetchWeb();
  assert.equal(page.status, 0, `the service answers through the cable: ${page.stderr}`);
  assert.match(page.stdout, new RegExp(`^hostname=${name}$`, 'm'), 'UTS namespace: hostname = NAME');
  assert.match(page.stdout, /^mac=02:00:00:00:00:2a$/m, 'eth0 has the configured MAC');
  assert.match(page.stdout, /^pid1=tini/m, 'PID 1 is the reaper');
  const servicePid = Number(/^pid=(\d+)$/m.exec(page.stdout)?.[1]);
  assert.ok(servicePid > 1 && servicePid < 1000, `the service has a PID of the subhost's namespace (${servicePid})`);

  const inside = ramboot('enter', name, '/bin/sh', '-c', 'cat /proc/1/comm; echo x > /written-inside; grep -c " / overlay " /proc/mounts');
  assert.equal(inside.status, 0, inside.stderr);
  assert.match(inside.stdout, /^tini/);
  assert.match(inside.stdout, /\n1\n$/, '/ is the overlay');
  const ps = JSON.parse(ramboot('ps', '--json').stdout) as { name: string; running: boolean }[];
  assert.ok(ps.some((s) => s.name === name && s.running));
  const twice = ramboot('run', conf);
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, new RegExp(`^ramboot: error: NAME ${name} is in use by a running subhost \\(hint: stop it \\(ramboot stop ${name}\\)`));

  assert.equal(readFileSync(join(base, 'root/written-inside'), 'utf8'), 'x\n', 'writes land in UPPER');
  assert.equal(readFileSync(join(base, 'root/var/lib/web/marker'), 'utf8'), 'started\n');
  assert.deepEqual(readdirSync(join(base, 'live')), [], 'the overlay is mounted only inside the subhost');
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(`subhost-${name}`), 'no host-visible mount');

  const stop = ramboot('stop', name);
  assert.equal(stop.status, 0, stop.stderr);
  assert.equal(await run.exit, 0);
  assert.deepEqual(await leftovers({ name, testNet, image, pidNs, live: join(base, 'live') }), []);
  assert.equal(readFileSync(join(base, 'root/var/lib/web/marker'), 'utf8'), 'started\nstopped\n', 'service stop ran');
  assert.equal(await sha256File(image), imageSha, 'the lower is untouched');

  // Start again: UPPER's file survived; this time stopped with Ctrl-C (SIGINT).
  const again = await startRun(testNet, [conf]);
  const pidNs2 = nsOf(readStateNow(name).initPid, 'pid');
  const page2 = fetchWeb();
  assert.equal(page2.status, 0, page2.stderr);
  assert.equal(ramboot('enter', name, '/bin/cat', '/written-inside').stdout, 'x\n', 'a write survives stop/start');
  again.child.kill('SIGINT');
  assert.equal(await again.exit, 0, again.stderr());
  assert.deepEqual(await leftovers({ name, testNet, image, pidNs: pidNs2, live: join(base, 'live') }), []);
  assert.equal(readFileSync(join(base, 'root/var/lib/web/marker'), 'utf8'), 'started\nstopped\nstarted\nstopped\n');
});

test('an UPPER script: its setup output is the upper, teardown runs at stop, also after ramboot run was killed', { skip }, async () => {
  const name = `up${tag}`;
  const base = join(dir, name);
  mkdirSync(join(base, 'live'), { recursive: true });
  mkdirSync(join(base, 'work'));
  const script = join(base, 'upper.sh');
  writeFileSync(script, `#!/bin/sh\necho "$ACTION $NAME \${UPPER:-}" >> ${base}/actions\n[ "$ACTION" = setup ] || exit 0\nmkdir -p ${base}/made-upper\necho "some chatter first"\necho ${base}/made-upper\n`);
  chmodSync(script, 0o755);
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, `BASE=${base}\nLOWER=${image}\nUPPER=${script}\nSTART=\nRAM_SIZE=none\nLOG=${base}.log\n`);
  await startRun(testNet, [conf]).then(async (run) => {
    const pidNs = nsOf(readStateNow(name).initPid, 'pid');
    const r = ramboot('enter', name, '/bin/sh', '-c', 'echo y > /via-script; grep -c " /run " /proc/mounts');
    assert.equal(r.stdout, '0\n', 'RAM_SIZE=none: no tmpfs on /run');
    assert.equal(readFileSync(join(base, 'made-upper/via-script'), 'utf8'), 'y\n');
    assert.equal(ramboot('stop', name).status, 0);
    assert.equal(await run.exit, 0);
    assert.deepEqual(await leftovers({ name, testNet, image, pidNs, live: join(base, 'live') }), []);
  });
  assert.equal(readFileSync(join(base, 'actions'), 'utf8'), `setup ${name} \nteardown ${name} ${base}/made-upper\n`);

  // ramboot run killed with SIGKILL: `ramboot stop` cleans up after it from the state file.
  const killed = await startRun(testNet, [conf]);
  const pidNs = nsOf(readStateNow(name).initPid, 'pid');
  killed.child.kill('SIGKILL');
  await killed.exit;
  const stop = ramboot('stop', name);
  assert.equal(stop.status, 0, stop.stderr);
  assert.match(stop.stderr, /is gone; cleaning up after it/);
  assert.deepEqual(await leftovers({ name, testNet, image, pidNs, live: join(base, 'live') }), []);
  assert.equal(readFileSync(join(base, 'actions'), 'utf8').split('\n').slice(2).join('\n'), `setup ${name} \nteardown ${name} ${base}/made-upper\n`);
});

test('--init: the image\'s own init is PID 1; its exit ends ramboot run, and SIGTERM stops it', { skip }, async () => {
  const name = `in${tag}`;
  const upper = join(dir, `${name}-upper`);
  mkdirSync(join(upper, 'etc'), { recursive: true });
  writeFileSync(join(upper, 'etc/init-mode'), 'exit\n');
  const flags = ['--name', name, '--lower', `${image}#sha256=${imageSha}`, '--upper', upper, '--cable', 'rbbr0=02:00:00:00:00:2b', '--init', '--log', join(dir, `${name}.log`)];
  const r = spawnSync('nsenter', [`--net=/run/netns/${testNet}`, process.execPath, ...CLI, 'run', ...flags], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /PID 1 ended \(status 0\)/);
  assert.equal(readFileSync(join(upper, 'var/lib/init/marker'), 'utf8'), `pid=1 hostname=${name}\n`);
  assert.equal(existsSync(join(STATE_DIR, `${name}.base`)), false, 'the one-off BASE is removed');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('ramboot-work')), [], 'the one-off WORK is removed');

  writeFileSync(join(upper, 'etc/init-mode'), 'wait\n');
  const run = await startRun(testNet, flags);
  const state = readStateNow(name);
  assert.equal(state.mode, 'init');
  assert.equal(readFileSync(`/proc/${state.initPid}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' '), '/bin/sh /sbin/init', 'the image\'s init runs as PID 1');
  const pidNs = nsOf(state.initPid, 'pid');
  run.child.kill('SIGTERM');
  assert.equal(await run.exit, 0, run.stderr());
  assert.deepEqual(await leftovers({ name, testNet, image, pidNs, live: '/nonexistent' }), []);
  assert.equal(readFileSync(join(upper, 'var/lib/init/marker'), 'utf8'), `pid=1 hostname=${name}\nterm\n`, 'init got SIGTERM and ended itself');
});

test('a wrong pin or a missing bridge stops before anything is made', { skip }, () => {
  const upper = join(dir, 'pin-upper');
  mkdirSync(upper, { recursive: true });
  const bad = ramboot('run', '--name', `pin${tag}`, '--lower', `${image}#sha256=${'0'.repeat(64)}`, '--upper', upper);
  assert.equal(bad.status, 3);
  assert.match(bad.stderr, /^ramboot: error: LOWER .* has sha256 [0-9a-f]{64}, the pin says 0{64} \(hint: .+\)\n$/);
  const nobr = ramboot('run', '--name', `br${tag}`, '--lower', image, '--upper', upper, '--cable', 'nosuchbr=02:00:00:00:00:01');
  assert.equal(nobr.status, 2);
  assert.match(nobr.stderr, /^ramboot: error: CABLES bridge nosuchbr \(cable 0\) does not exist or is not a bridge/);
  assert.equal(existsSync(`/run/netns/pin${tag}`) || existsSync(`/run/netns/br${tag}`), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('ramboot-work')), []);
});
