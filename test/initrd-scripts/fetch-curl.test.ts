// The fetch stage with the curl hook's curl (lib/fetch-curl.sh), run for real: the sandbox's
// /usr/bin/curl is this machine's curl, and the server is src/lab/http-server.ts on 127.0.0.1 in
// a child process, with its faults: a 404, a transfer cut halfway, one that stops with the
// connection open, a port nobody listens on. Each ends in a resumed, checked image or in the one
// error line wget's path would give, in the same words. The certificate checks are booted in
// QEMU (test/boot/curl-hook.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpFaults, HttpRequestRecord } from '../../src/lab/http-server.ts';
import { BUSYBOX, Sandbox, errorLines } from './harness.ts';

const IMAGE = Buffer.concat([Buffer.from('hsqs'), randomBytes(300_000)]);
const SHA = createHash('sha256').update(IMAGE).digest('hex');
const FETCH = 'ram_stage_setup; ram_stage_fetch; echo "url=$RAM_IMAGE_URL"';
let dir: string;
const sandboxes: Sandbox[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ramboot-curl-'));
  writeFileSync(join(dir, 'rootfs.squashfs'), IMAGE);
});
after(() => {
  sandboxes.forEach((s) => s.cleanup());
  rmSync(dir, { recursive: true, force: true });
});

/** A sandbox whose initrd has the curl hook: /usr/bin/curl (this machine's) and a CA bundle. */
function sandbox(cmdline: string): Sandbox {
  const sb = new Sandbox({ cmdline, memAvailableKiB: 900_000, conf: { baked: { rootsha256: SHA }, facts: { KVER: '6.1.0-test', ROOTSIZE: '', VERSION: 't' } } });
  sandboxes.push(sb);
  mkdirSync(sb.path('usr/bin'), { recursive: true });
  symlinkSync('/usr/bin/curl', sb.path('usr/bin/curl'));
  sb.write('etc/ssl/certs/ca-certificates.crt', '');
  return sb;
}

/** Run `fn` with a server of `dir` (faults as given) in a child process; its requests after. */
async function withServer<T>(faults: HttpFaults, fn: (base: string) => T): Promise<{ result: T; requests: HttpRequestRecord[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./serve-dir.ts', import.meta.url).pathname, dir, JSON.stringify(faults)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  while (!out.includes('\n')) await once(child.stdout, 'data');
  const result = fn(`http://127.0.0.1:${out.split('\n')[0]}`);
  child.kill('SIGTERM');
  await once(child, 'exit');
  return { result, requests: JSON.parse(out.split('\n')[1]!) as HttpRequestRecord[] };
}

const asLines = (requests: HttpRequestRecord[]) => requests.map((r) => `${r.method} ${r.path} ${r.status}${r.range ? ` ${r.range}` : ''}`);

/** The fetch stage against a server with `faults`; `params` follow rooturl=BASE/PATH. */
async function fetchWith(faults: HttpFaults, path: string, params = '') {
  const { result, requests } = await withServer(faults, (base) => {
    const sb = sandbox(`rooturl=${base}${path} ${params}`);
    const started = Date.now();
    return { sb, base, r: sb.run(FETCH), ms: Date.now() - started };
  });
  return { ...result, requests };
}

test('curl: the size from a HEAD, then one GET hashed while it arrives; the log says curl checks certificates', async () => {
  const { sb, r, requests } = await fetchWith({}, '/rootfs.squashfs');
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, /^ramboot: fetch: curl, certificates checked against \/etc\/ssl\/certs\/ca-certificates\.crt$/m);
  assert.match(r.stdout, new RegExp(`^ramboot: verify: sha256 ${SHA} matches \\(hashed while it arrived\\)$`, 'm'));
  assert.deepEqual(asLines(requests), ['HEAD /rootfs.squashfs 200', 'GET /rootfs.squashfs 200']);
  assert.equal(sb.calls('wget').length, 0, 'busybox wget is not used');
});

test('curl: a 404 is one error line with the status and its reason, after the HEAD alone (no retry, no GET)', async () => {
  const { base, r, requests } = await fetchWith({}, '/missing.squashfs', 'initrddebug=y');
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output), [`ramboot: error: cannot download the root image: ${base}/missing.squashfs: HTTP 404 Not Found`]);
  assert.deepEqual(asLines(requests), ['HEAD /missing.squashfs 404']);
});

test('curl: a transfer cut halfway is resumed with -C - (a Range from the byte it stopped at) and hashed whole', async () => {
  const { sb, base, r, requests } = await fetchWith({ cutAfterBytes: 100_000, cutTimes: 1 }, '/rootfs.squashfs');
  assert.equal(r.status, 0, r.output);
  const warning = new RegExp(`^ramboot: warning: fetch: ${base.replaceAll('.', '\\.')}/rootfs\\.squashfs: short read: the server closed the connection at byte (\\d+) of ${IMAGE.length} \\(transfer closed with \\d+ bytes remaining to read\\); try 2 of \\d+ in \\d+s$`, 'm').exec(r.stdout);
  assert.ok(warning, r.output);
  assert.deepEqual(asLines(requests), ['HEAD /rootfs.squashfs 200', 'GET /rootfs.squashfs 200', `GET /rootfs.squashfs 206 bytes=${warning[1]}-`]);
  assert.match(r.stdout, new RegExp(`^ramboot: verify: sha256 ${SHA} matches \\(hashed after the download, [\\d.]+s\\)$`, 'm'));
  assert.equal(createHash('sha256').update(readFileSync(sb.path('run/ramboot/image/rootfs.squashfs'))).digest('hex'), SHA);
});

test('curl: a transfer that stops with the connection open is given up after fetch_stall= seconds (--speed-time) and resumed', async () => {
  const { base, r, requests, ms } = await fetchWith({ stallAfterBytes: 100_000, stallTimes: 1 }, '/rootfs.squashfs', 'fetch_stall=2');
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, new RegExp(`^ramboot: warning: fetch: ${base.replaceAll('.', '\\.')}/rootfs\\.squashfs: stalled: no data for 2s at byte 100000 of ${IMAGE.length} \\(fetch_stall=2\\); try 2`, 'm'));
  assert.deepEqual(asLines(requests).slice(-1), ['GET /rootfs.squashfs 206 bytes=100000-']);
  assert.ok(ms < 20_000, `bounded by fetch_stall=2, took ${ms} ms`);
});

test('curl: nobody listening is retried, then one error line naming the address', async () => {
  const sb = sandbox('rooturl=http://127.0.0.1:1/rootfs.squashfs');
  const r = sb.run(FETCH);
  assert.equal(r.status, 1, r.output);
  assert.deepEqual(errorLines(r.output).map((l) => l.replace(/after \d+ ms/, 'after N ms')), [
    "ramboot: error: cannot download the root image: http://127.0.0.1:1/rootfs.squashfs: cannot connect: Failed to connect to 127.0.0.1 port 1 after N ms: Couldn't connect to server (no server listening on that host and port?)",
  ]);
  assert.match(r.stdout, /try 2 of/);
});

test('curl: an IPv6 literal URL passes the command line checks and reaches curl as it is, globbing off (-g)', () => {
  const url = 'https://[fec0::2]:8443/rootfs.squashfs';
  const sb = sandbox(`rooturl=${url}`);
  rmSync(sb.path('usr/bin/curl'));
  // A stand-in for curl (no IPv6 server here): logs its arguments, answers the HEAD, writes IMAGE.
  writeFileSync(sb.path('image'), IMAGE);
  sb.write(
    'usr/bin/curl',
    `#!${BUSYBOX} sh
printf '%s\\n' "$*" >>"$RAM_PREFIX/curl.args"
out=; head=; hdr=
while [ $# -gt 1 ]; do case $1 in -o) out=$2 ;; -D) hdr=$2 ;; -I) head=1 ;; esac; shift; done
[ -z "$head" ] || { printf 'HTTP/1.1 200 OK\\r\\nContent-Length: ${IMAGE.length}\\r\\n\\r\\n' >"$hdr"; exit 0; }
cat "$RAM_PREFIX/image" >"$out"`,
  );
  chmodSync(sb.path('usr/bin/curl'), 0o755);
  const r = sb.run(FETCH);
  assert.equal(r.status, 0, r.output);
  assert.match(r.stdout, new RegExp(`^url=${url.replace(/[[\].]/g, '\\$&')}$`, 'm'));
  const calls = sb.read('curl.args').trim().split('\n');
  assert.equal(calls.length, 2, calls.join('\n'));
  for (const call of calls) {
    assert.ok(call.endsWith(` ${url}`), call);
    assert.match(call, /^-q -sS --fail -g -L /);
    assert.match(call, new RegExp(`--cacert ${sb.prefix.replaceAll('.', '\\.')}/etc/ssl/certs/ca-certificates\\.crt --connect-timeout 20 --speed-limit 1 --speed-time 20 `));
  }
});
