// The boot harness itself: the 127.0.0.1 HTTP server (ranges, HEAD, faults, traversal) from the
// host side, then QEMU booting Debian's cloud kernel with a trivial busybox initrd that brings up
// virtio-net, fetches a file from that server (and one over QEMU's TFTP) and powers off.
// With CI=true a missing QEMU fails instead of skipping.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RambootError } from '../../src/errors.ts';
import { parseRange, startHttpServer, type HttpServer } from '../../src/lab/http-server.ts';
import { bootQemu, renderQemuArgs, startQemu } from '../../src/lab/qemu.ts';
import { fetchDebianKernel, type DebianKernel } from '../../src/lab/debian-kernel.ts';
import { skipWithoutQemu } from '../support/require-tool.ts';

const skipQemu = skipWithoutQemu();

let work: string;
let www: string;
let server: HttpServer;
const blob = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251));

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-harness-'));
  www = join(work, 'www');
  mkdirSync(join(www, 'sub'), { recursive: true });
  writeFileSync(join(www, 'hello.txt'), 'hello from the host\n');
  writeFileSync(join(www, 'blob.bin'), blob);
  writeFileSync(join(work, 'secret.txt'), 'outside the served directory\n');
  symlinkSync(join(work, 'secret.txt'), join(www, 'escape.txt'));
  server = await startHttpServer(www);
});

after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  complete: boolean;
}

/** A raw HTTP request (the path is sent as is, so `..` reaches the server unnormalised). */
function get(path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      let complete = false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (complete = res.complete));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: complete && res.complete }));
      res.on('error', () => {});
    });
    req.on('error', reject);
    req.end();
  });
}

test('parseRange: a-b, a-, -n, unsatisfiable, malformed', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=95-200', 100), { start: 95, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-1,5-6', 100), null);
  assert.equal(parseRange('items=0-1', 100), null);
  assert.equal(parseRange(undefined, 100), null);
});

test('the server listens on 127.0.0.1 only; the guest URL is 10.0.2.2', async () => {
  assert.equal(server.address, '127.0.0.1');
  assert.equal(server.url('/hello.txt'), `http://10.0.2.2:${server.port}/hello.txt`);
  assert.equal(server.hostUrl('hello.txt'), `http://127.0.0.1:${server.port}/hello.txt`);
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
  for (const address of external) {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = connect(server.port, address, () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', reject);
      }),
      /ECONNREFUSED/,
      `not reachable on ${address}`,
    );
  }
});

test('GET, HEAD and Range requests (206, suffix, 416), all logged', async () => {
  const full = await get('/blob.bin');
  assert.equal(full.status, 200);
  assert.ok(full.body.equals(blob));
  assert.equal(full.headers['accept-ranges'], 'bytes');

  const head = await get('/blob.bin', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(blob.length));
  assert.equal(head.body.length, 0);

  const part = await get('/blob.bin', { headers: { range: 'bytes=1000-1999' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 1000-1999/${blob.length}`);
  assert.ok(part.body.equals(blob.subarray(1000, 2000)));

  const tail = await get('/blob.bin', { headers: { range: 'bytes=-100' } });
  assert.equal(tail.status, 206);
  assert.ok(tail.body.equals(blob.subarray(-100)));

  const beyond = await get('/blob.bin', { headers: { range: `bytes=${blob.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], `bytes */${blob.length}`);

  const logged = server.requests.filter((r) => r.path === '/blob.bin').map((r) => [r.method, r.status, r.bytes]);
  assert.deepEqual(logged.slice(-5), [
    ['GET', 200, blob.length],
    ['HEAD', 200, 0],
    ['GET', 206, 1000],
    ['GET', 206, 100],
    ['GET', 416, 22],
  ]);
});

test('no way out of the served directory; only GET and HEAD', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt', '/escape.txt', '/sub', '/missing', '/%zz']) {
    const got = await get(path);
    assert.equal(got.status, 404, path);
    assert.doesNotMatch(got.body.toString(), /outside/);
  }
  assert.equal((await get('/hello.txt', { method: 'PUT' })).status, 405);
  assert.equal(readFileSync(join(www, 'hello.txt'), 'utf8'), 'hello from the host\n');
});

test('fault injection: a status for a path, changed while running', async () => {
  server.faults.failPaths = new Map([
    ['/hello.txt', 404],
    ['/blob.bin', 503],
  ]);
  try {
    assert.equal((await get('/hello.txt')).status, 404);
    assert.equal((await get('/blob.bin')).status, 503);
  } finally {
    server.faults.failPaths = undefined;
  }
  assert.equal((await get('/hello.txt')).status, 200);
});

test('fault injection: the connection is cut after N bytes, for the first N requests only', async () => {
  server.faults.cutAfterBytes = 4096;
  server.faults.cutTimes = 1;
  try {
    const cut = await get('/blob.bin');
    assert.equal(cut.status, 200);
    assert.equal(cut.headers['content-length'], String(blob.length), 'headers promise the whole file');
    assert.equal(cut.complete, false);
    assert.ok(cut.body.equals(blob.subarray(0, 4096)), `got ${cut.body.length} bytes`);
    const record = server.requests.at(-1)!;
    assert.equal(record.cut, true);
    assert.equal(record.bytes, 4096);
    // The retry resumes with a Range and is served whole.
    const rest = await get('/blob.bin', { headers: { range: 'bytes=4096-' } });
    assert.equal(rest.status, 206);
    assert.equal(rest.complete, true);
    assert.ok(Buffer.concat([cut.body, rest.body]).equals(blob));
  } finally {
    server.faults.cutAfterBytes = undefined;
    server.faults.cutTimes = undefined;
  }
});

test('QEMU command line: TCG only, console on the serial port, tftp dir escaped', () => {
  const args = renderQemuArgs({ kernel: 'k', initrd: 'i', append: 'console=ttyS0', tftpDir: '/srv/a,b' });
  assert.equal(args[args.indexOf('-append') + 1], 'console=ttyS0 no_timer_check', 'the timer check a loaded host can fail is off');
  assert.ok(!args.some((a) => /kvm/.test(a)), 'never KVM');
  assert.deepEqual(args.slice(args.indexOf('-accel'), args.indexOf('-accel') + 2), ['-accel', 'tcg']);
  assert.equal(args[args.indexOf('-nic') + 1], 'user,model=virtio-net-pci,tftp=/srv/a,,b');
  assert.equal(args[args.indexOf('-m') + 1], '1024');
  assert.equal(args[args.indexOf('-smp') + 1], '2');
});

test('a missing qemu-system-x86_64 is one line with the apt-get hint', async () => {
  const kernel = join(work, 'fake-kernel');
  writeFileSync(kernel, '');
  const path = process.env.PATH;
  process.env.PATH = join(work, 'empty-bin');
  try {
    await assert.rejects(bootQemu({ kernel, initrd: kernel, append: '' }), (error: unknown) => {
      assert.ok(error instanceof RambootError);
      assert.equal(error.toLine(), 'qemu-system-x86_64 not found (hint: apt-get install qemu-system-x86)');
      return true;
    });
  } finally {
    process.env.PATH = path;
  }
  assert.throws(() => startQemu({ kernel: join(work, 'nope'), initrd: kernel, append: '' }), /kernel .*nope does not exist/);
});

// ---- QEMU boots -------------------------------------------------------------------------------

/** virtio-net and what it needs, in load order (modinfo depends), as Debian's cloud kernel builds
 * them: all modules there, none built in. Any that a kernel has built in are skipped. */
const NET_MODULES = [
  'drivers/virtio/virtio_ring',
  'drivers/virtio/virtio',
  'drivers/virtio/virtio_pci_legacy_dev',
  'drivers/virtio/virtio_pci_modern_dev',
  'drivers/virtio/virtio_pci',
  'net/core/failover',
  'drivers/net/net_failover',
  'drivers/net/virtio_net',
];

const TRIVIAL_INIT = `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "HARNESS-INIT pid=$$"
for m in $(cat /modules.order); do insmod "/modules/$m.ko" || echo "HARNESS-INSMOD-FAILED $m"; done
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    harness_url=*) wget -q -O /tmp/http "\${arg#harness_url=}" && echo "HARNESS-HTTP $(cat /tmp/http)" ;;
    harness_tftp=*) tftp -g -r "\${arg#harness_tftp=}" -l /tmp/tftp 10.0.2.2 && echo "HARNESS-TFTP $(cat /tmp/tftp)" ;;
    harness_shell=1) echo "HARNESS-SHELL"; sh ;;
    harness_hang=1) echo "HARNESS-HANG"; while :; do sleep 60; done ;;
  esac
done
echo HARNESS-DONE
poweroff -f
`;

let kernel: DebianKernel;
let initrd: string;

async function buildTrivialInitrd(): Promise<string> {
  kernel = await fetchDebianKernel('cloud-amd64');
  const stage = join(work, 'initrd-root');
  mkdirSync(join(stage, 'modules'), { recursive: true });
  for (const dir of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(stage, dir), { recursive: true });
  copyFileSync('/bin/busybox', join(stage, 'bin/busybox'));
  chmodSync(join(stage, 'bin/busybox'), 0o755);
  symlinkSync('busybox', join(stage, 'bin/sh'));
  writeFileSync(join(stage, 'init'), TRIVIAL_INIT, { mode: 0o755 });
  const builtin = readFileSync(join(kernel.modulesDir, 'modules.builtin'), 'utf8');
  const order: string[] = [];
  for (const module of NET_MODULES) {
    const name = module.split('/').pop()!;
    if (builtin.includes(`kernel/${module}.ko`)) continue;
    const file = join(kernel.modulesDir, 'kernel', `${module}.ko`);
    assert.ok(existsSync(file), `${file} exists (or is built in)`);
    copyFileSync(file, join(stage, 'modules', `${name}.ko`));
    order.push(name);
  }
  writeFileSync(join(stage, 'modules.order'), `${order.join('\n')}\n`);
  const out = join(work, 'initrd.gz');
  execFileSync('sh', ['-c', `cd "${stage}" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 > "${out}"`]);
  return out;
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('boots the cloud kernel with a trivial initrd: markers, HTTP and TFTP from the host', { skip: skipQemu, timeout: 240_000 }, async (t) => {
  initrd = await buildTrivialInitrd();
  const tftp = join(work, 'tftp');
  mkdirSync(tftp);
  writeFileSync(join(tftp, 'tftp.txt'), 'hello over tftp\n');
  const before = server.requests.length;
  const result = await bootQemu({
    kernel: kernel.vmlinuz,
    initrd,
    append: `console=ttyS0 quiet panic=-1 harness_url=${server.url('/hello.txt')} harness_tftp=tftp.txt`,
    memoryMiB: 256,
    tftpDir: tftp,
  });
  t.diagnostic(`trivial initrd: boot to power-off in ${Math.round(result.wallMs)} ms wall`);
  assert.equal(result.timedOut, false, result.output.slice(-2000));
  assert.equal(result.exitCode, 0, 'the guest powered off and QEMU exited');
  assert.match(result.output, /HARNESS-INIT pid=1/);
  assert.doesNotMatch(result.output, /HARNESS-INSMOD-FAILED/);
  assert.match(result.output, /HARNESS-HTTP hello from the host/);
  assert.match(result.output, /HARNESS-TFTP hello over tftp/);
  assert.match(result.output, /HARNESS-DONE/);
  assert.doesNotMatch(result.output, /\r/);
  const fetched = server.requests.slice(before).filter((r) => r.method === 'GET' && r.path === '/hello.txt');
  assert.deepEqual(fetched.map((r) => [r.status, r.bytes]), [[200, 20]]);
  assert.throws(() => result.send('x'), /QEMU is not running/);
});

test('interactive: wait for a prompt, type into the serial console, wait for the answer', { skip: skipQemu, timeout: 240_000 }, async () => {
  initrd ??= await buildTrivialInitrd();
  const seen: string[] = [];
  const qemu = startQemu({ kernel: kernel.vmlinuz, initrd, append: 'console=ttyS0 quiet harness_shell=1', memoryMiB: 256, onOutput: (s) => seen.push(s) });
  try {
    await qemu.waitFor(/HARNESS-SHELL/, 120_000);
    qemu.send('echo TYPED-$((6*7))\n');
    // Output arrives in pieces: without the \n, /TYPED-\d+/ can match "TYPED-4" before the "2".
    assert.equal(await qemu.waitFor(/TYPED-\d+\n/, 30_000), 'TYPED-42\n');
    qemu.send('exit\n');
    await qemu.waitFor(/HARNESS-DONE/, 30_000);
    await assert.rejects(qemu.waitFor(/HARNESS-DONE/, 5_000), /HARNESS-DONE/, 'a second wait needs a second occurrence');
    const result = await qemu.done;
    assert.equal(result.exitCode, 0);
    assert.equal(seen.join(''), result.output);
  } finally {
    qemu.kill();
  }
  assert.equal(isAlive(qemu.pid), false, 'no QEMU left behind');
});

test('until stops QEMU early; a timeout kills it and says so', { skip: skipQemu, timeout: 240_000 }, async () => {
  initrd ??= await buildTrivialInitrd();
  const early = startQemu({ kernel: kernel.vmlinuz, initrd, append: 'console=ttyS0 quiet harness_hang=1', memoryMiB: 256, until: /HARNESS-INIT/ });
  const stopped = await early.done;
  assert.equal(stopped.untilMatched, true);
  assert.equal(stopped.timedOut, false);
  assert.equal(stopped.exitCode, null);
  assert.equal(isAlive(early.pid), false);

  const hung = startQemu({ kernel: kernel.vmlinuz, initrd, append: 'console=ttyS0 quiet harness_hang=1', memoryMiB: 256, timeoutMs: 60_000 });
  await hung.waitFor(/HARNESS-HANG/, 60_000);
  const waiting = hung.waitFor(/NEVER-PRINTED/, 60_000);
  hung.kill();
  await assert.rejects(waiting, /QEMU exited before the console showed \/NEVER-PRINTED\//);
  const killed = await hung.done;
  assert.equal(killed.exitCode, null);
  assert.equal(isAlive(hung.pid), false);

  const slow = await bootQemu({ kernel: kernel.vmlinuz, initrd, append: 'console=ttyS0 quiet harness_hang=1', memoryMiB: 256, timeoutMs: 1_000 });
  assert.equal(slow.timedOut, true);
  assert.equal(slow.exitCode, null);
});
