// The stock Debian 12 root of the distribution boot tests (cached under /var/cache/ramboot/roots
// by src/lab/stock-root.ts; test/boot/ runs before test/subhost/) as a directory LOWER with
// START="ssh": Debian's own `service ssh start` brings sshd up inside the subhost and it answers
// through the cable. Skipped when no such root is cached (the issue asks for it "when present").
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_IP } from './image.ts';
import { leftovers, makeTestNet, nsOf, readStateNow, sh, startRun } from './harness.ts';

const CACHE = '/var/cache/ramboot/roots';
const tarball = existsSync(CACHE) ? readdirSync(CACHE).filter((f) => /^bookworm-.*\.tar\.zst$/.test(f)).sort().pop() : undefined;
const skip = process.getuid?.() !== 0 ? 'needs root' : tarball ? false : `no Debian 12 root cached in ${CACHE} (the distribution boot tests make one)`;
const testNet = `rbdeb-${process.pid}`;
let dir = '';
let removeNet: () => void = () => undefined;

after(() => {
  removeNet();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a Debian 12 root with START="ssh": sshd answers through the cable, nothing left after stop', { skip }, async () => {
  dir = mkdtempSync(join(tmpdir(), 'rb-subhost-deb-'));
  const lower = join(dir, 'lower');
  mkdirSync(lower);
  const untar = spawnSync('sh', ['-c', 'zstd -dc "$1" | tar -x -C "$2"', 'sh', join(CACHE, tarball!), lower], { encoding: 'utf8' });
  assert.equal(untar.status, 0, untar.stderr);
  removeNet = makeTestNet(testNet, HOST_IP);
  const name = `deb${(process.pid % 1000).toString(36)}`;
  const base = join(dir, 'base');
  for (const d of ['live', 'root', 'work']) mkdirSync(join(base, d), { recursive: true });
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, `BASE=${base}\nLOWER=${lower}\nCABLES=rbbr0=02:00:00:00:00:3c\nSTART="ssh"\nLOG=${dir}/log\n`);

  const run = await startRun(testNet, [conf]);
  const pidNs = nsOf(readStateNow(name).initPid, 'pid');
  // The image's ifupdown has no stanza for eth0 (START has no "networking"): address it from here.
  assert.equal(sh('ip', ['-n', name, 'addr', 'add', '10.199.0.3/24', 'dev', 'eth0']).status, 0);
  assert.equal(sh('ip', ['-n', name, 'link', 'set', 'eth0', 'up']).status, 0);
  let banner = '';
  for (let i = 0; i < 50 && !banner.startsWith('SSH-2.0-'); i++) {
    banner = sh('nsenter', [`--net=/run/netns/${testNet}`, 'timeout', '5', 'busybox', 'nc', '10.199.0.3', '22']).stdout;
    if (!banner) await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(banner, /^SSH-2\.0-OpenSSH_\S+ Debian/, 'sshd of the image answers through the cable');
  run.child.kill('SIGTERM');
  assert.equal(await run.exit, 0, run.stderr());
  assert.match(run.stderr(), /service ssh stop: ok/);
  assert.deepEqual(await leftovers({ name, testNet, pidNs, live: join(base, 'live') }), []);
});
