// Servers that lie or go quiet, booted in QEMU: a Content-Length of `08` (an octal syntax error
// in busybox sh arithmetic, which used to kill PID 1 with no message) and one of 20 digits; a
// transfer that stops mid-file with the connection held open (busybox wget alone would wait
// 900 s); a server that accepts and never answers; a busy server (503 with Retry-After). Each
// ends in a resumed boot or one `ramboot: error:` line, and initrddebug gets its shell. The init
// also prints the boot report, which counts the retries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GUEST_HOST_ADDRESS, startHttpServer } from '../../src/lab/http-server.ts';
import { MARKER_INIT, parseInitMarkers } from '../../src/lab/demo-root.ts';
import { buildSet, skip, type BuiltSet } from './image-set.ts';

let set: BuiltSet;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let liar: Server;
const liarSockets = new Set<Socket>();
let imageBytes: number;
const INIT = MARKER_INIT.replace('echo "RAMBOOT-DONE"', 'echo "RAMBOOT-REPORT $(cat /run/ramboot/report.json)"\necho "RAMBOOT-DONE"');

/** What the lying server says Content-Length is, by path. */
const LENGTHS: Record<string, string> = { '/octal.squashfs': '08', '/huge.squashfs': '99999999999999999999' };

before(async () => {
  if (skip) return;
  set = await buildSet('fetch-faults', INIT);
  imageBytes = statSync(join(set.out, 'rootfs.squashfs')).size;
  http = await startHttpServer(set.out);
  // A raw server, since node:http will not send a malformed Content-Length: every answer is
  // 200 with the path's lie and 8 bytes of body.
  liar = createServer((socket) => {
    liarSockets.add(socket);
    socket.on('close', () => liarSockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (data) => {
      const path = /^[A-Z]+ (\S+)/.exec(data.toString('latin1'))?.[1] ?? '/';
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${LENGTHS[path] ?? '8'}\r\nConnection: close\r\n\r\nhsqs0000`);
    });
  });
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await http?.close();
  for (const s of liarSockets) s.destroy();
  await new Promise((resolve) => (liar ? liar.close(resolve) : resolve(undefined)));
  set?.cleanup();
});

/** The waits of `; try N of 4 in Ss` warnings: each must lie in [b/2, b] of the doubling from 1 s
 * (the jitter seeded by the guest's MAC); returns the tries they announce. */
function jitteredTries(output: string): number[] {
  return [...output.matchAll(/; try (\d) of 4 in ([\d.]+)s/g)].map((m) => {
    const b = 2 ** (Number(m[1]) - 2);
    assert.ok(Number(m[2]) >= b / 2 && Number(m[2]) <= b, `try ${m[1]} after ${m[2]} s, outside [${b / 2}, ${b}]`);
    return Number(m[1]);
  });
}

const liarUrl = (path: string) => `http://${GUEST_HOST_ADDRESS}:${(liar.address() as AddressInfo).port}${path}`;
const re = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Boot with initrddebug=y until the error line, check the debug shell opens; the error line. */
async function bootToError(append: string): Promise<{ error: string; output: string }> {
  const qemu = set.start(`${append} initrddebug=y`);
  try {
    const error = await qemu.waitFor(/ramboot: error: [^\n]*\n/, 110_000);
    await qemu.waitFor(/initrddebug: shell after the error/, 20_000);
    return { error, output: qemu.output() };
  } finally {
    qemu.kill();
  }
}

test('Content-Length: 08 is one error line naming the header, not a dead PID 1', { skip }, async () => {
  const url = liarUrl('/octal.squashfs');
  const { error, output } = await bootToError(`rooturl=${url}`);
  assert.match(error, new RegExp(`ramboot: error: cannot download the root image: ${re(url)}: the server's Content-Length '08' is not a byte count \\(a broken server or proxy\\)`));
  assert.doesNotMatch(output, /arithmetic|syntax error|Attempted to kill init/);
});

test('a 20-digit Content-Length is refused as too big, not wrapped into a small number', { skip }, async () => {
  const url = liarUrl('/huge.squashfs');
  const { error } = await bootToError(`rooturl=${url}`);
  assert.match(error, new RegExp(`ramboot: error: image 99999999999999999999 bytes \\+ overlay 32 MiB > \\d+ MiB free \\(Content-Length of ${re(url)}; 64 MiB kept for the kernel\\)`));
});

test('a transfer that stops mid-file, connection held open: stopped after fetch_stall=, resumed with a Range request, booted', { skip }, async () => {
  http.requests.length = 0;
  http.faults.stallAfterBytes = 1 << 20;
  // busybox's --spider (the size probe) is a GET that hangs up after the headers: it takes one.
  http.faults.stallTimes = 2;
  try {
    const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')} fetch_stall=3`, /RAMBOOT-DONE/);
    const m = parseInitMarkers(r.output);
    assert.ok(m.done, `init did not finish:\n${r.output.slice(-3000)}`);
    assert.doesNotMatch(r.output, /ramboot: error:/);
    const warning = new RegExp(`warning: fetch: ${re(http.url('/rootfs.squashfs'))}: stalled: no data for 3s at byte (\\d+) of ${imageBytes} \\(fetch_stall=3\\); try 2 of 4 in [\\d.]+s`).exec(r.output);
    assert.ok(warning, r.output.slice(-3000));
    assert.deepEqual(jitteredTries(r.output), [2]);
    const gets = http.requests.filter((q) => q.path === '/rootfs.squashfs' && q.method === 'GET');
    assert.deepEqual(gets.slice(1).map((q) => [q.status, q.range ?? '', q.stalled ?? false]), [
      [200, '', true],
      [206, `bytes=${warning[1]}-`, false],
    ], 'the second GET resumes where the stalled one stopped');
    assert.match(r.output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));
  } finally {
    http.faults.stallAfterBytes = undefined;
  }
});

test('a server that accepts and never answers: one error line within the bound fetch_stall= sets', { skip }, async () => {
  http.faults.silentPaths = new Set(['/rootfs.squashfs']);
  try {
    const url = http.url('/rootfs.squashfs');
    const { error, output } = await bootToError(`rooturl=${url} fetch_stall=3`);
    assert.match(error, new RegExp(`ramboot: error: cannot download the root image: ${re(url)}: stalled: no data for 3s at byte 0 \\(fetch_stall=3\\)`));
    assert.deepEqual(jitteredTries(output), [2, 3, 4]);
    // The probe and four GETs of 3 s each, and 3.5 to 7 s of waits: about 22 s of guest time, where
    // busybox wget alone would wait 900 s for the first. The kernel stamps each console line.
    const at = (text: RegExp) => Number(new RegExp(`\\[\\s*(\\d+\\.\\d+)\\][^\\n]*${text.source}`).exec(output)?.[1]);
    const spent = at(/ramboot: error: cannot download/) - at(/ramboot: stage net done/);
    assert.ok(spent > 15 && spent < 60, `the fetch took ${spent} s of guest time`);
  } finally {
    http.faults.silentPaths = undefined;
  }
});

test('a busy server (503 with Retry-After: 2) is asked again after the wait it named, counted in report.json, and the boot goes on', { skip }, async (t) => {
  http.requests.length = 0;
  // The probe and the HEAD for Retry-After, twice; the third probe is served.
  http.faults.busyPaths = new Map([['/rootfs.squashfs', { times: 4, retryAfter: '2' }]]);
  try {
    const url = http.url('/rootfs.squashfs');
    const r = await set.boot(`rooturl=${url}`, /RAMBOOT-DONE/);
    assert.ok(parseInitMarkers(r.output).done, r.output.slice(-3000));
    assert.doesNotMatch(r.output, /ramboot: error:/);
    const warnings = [...r.output.matchAll(new RegExp(`\\[\\s*(\\d+\\.\\d+)\\][^\\n]*ramboot: warning: fetch: ${re(url)}: HTTP 503 Service Unavailable \\(Retry-After: 2s\\); try (\\d) of 4 in ([\\d.]+)s`, 'g'))];
    assert.deepEqual(warnings.map((w) => w[2]), ['2', '3'], r.output.slice(-3000));
    // Retry-After 2 plus at most a quarter and a second of jitter; the guest's own clock shows it.
    for (const w of warnings) assert.ok(Number(w[3]) >= 2 && Number(w[3]) <= 3.5, `waited ${w[3]} s`);
    assert.ok(Number(warnings[1]![1]) - Number(warnings[0]![1]) >= 2, 'the second warning comes after the first wait');
    assert.deepEqual(http.requests.filter((q) => q.path === '/rootfs.squashfs').map((q) => [q.method, q.status, q.busy ?? false]), [
      ['GET', 503, true],
      ['HEAD', 503, true],
      ['GET', 503, true],
      ['HEAD', 503, true],
      ['GET', 200, false],
      ['GET', 200, false],
    ], 'probe, HEAD for Retry-After, twice; then the probe and the download');
    const line = /^RAMBOOT-REPORT (.*)$/m.exec(r.output);
    assert.ok(line, r.output.slice(-3000));
    const fetch = JSON.parse(line[1]!).fetch;
    assert.deepEqual([fetch.attempts, fetch.retries, fetch.busy_answers, fetch.retry_after_waits], [1, 2, 2, 2]);
    assert.ok(fetch.waited_s >= 4 && fetch.waited_s <= 7, `waited ${fetch.waited_s} s`);
    assert.equal(fetch.jitter_mac, '52:54:00:12:34:56', "QEMU's default MAC seeds the jitter");
    t.diagnostic(`waits ${warnings.map((w) => w[3]).join(' s, ')} s; report.json fetch: ${JSON.stringify(fetch)}`);
    assert.deepEqual(fetch.mirror_order, [url]);
    assert.match(r.output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));
  } finally {
    http.faults.busyPaths = undefined;
  }
});

test('rootsha256=off boots the image unchecked, saying so; the baked pin is not used', { skip }, async () => {
  const r = await set.boot(`rooturl=${http.url('/rootfs.squashfs')} rootsha256=off`, /RAMBOOT-DONE/);
  assert.ok(parseInitMarkers(r.output).done, r.output.slice(-3000));
  assert.match(r.output, /ramboot: warning: verify: rootsha256=off: \S+ is NOT verified/);
  assert.doesNotMatch(r.output, /ramboot: verify: sha256 [0-9a-f]{64} matches/);
});
