// The boot tests' HTTP server's quiet faults, from this machine (no QEMU): a transfer that stops
// after N bytes with the connection held open, a path that is accepted but never answered, and a
// busy path (503 or 429 with a Retry-After) for the first N requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer, type HttpServer } from '../../src/lab/http-server.ts';

let dir: string;
let server: HttpServer;
const BODY = Buffer.alloc(10_000, 7);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ramboot-http-faults-'));
  writeFileSync(join(dir, 'img'), BODY);
  server = await startHttpServer(dir);
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** GET `path`; resolves after `quietMs` without new data (or at the end) with what arrived. */
function getUntilQuiet(path: string, quietMs: number): Promise<{ status?: number; bytes: number; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const state: { status?: number; bytes: number; ended: boolean } = { bytes: 0, ended: false };
    let timer = setTimeout(done, quietMs);
    function done(): void {
      req.destroy();
      resolve(state);
    }
    const req = request(server.hostUrl(path), (res: IncomingMessage) => {
      state.status = res.statusCode;
      res.on('data', (chunk: Buffer) => {
        state.bytes += chunk.length;
        clearTimeout(timer);
        timer = setTimeout(done, quietMs);
      });
      res.on('end', () => {
        state.ended = true;
        clearTimeout(timer);
        done();
      });
    });
    req.on('error', (e) => (state.ended ? undefined : reject(e)));
    req.end();
  });
}

test('stallAfterBytes: the first bytes come, then nothing, and the connection stays open; stallTimes spends itself', async () => {
  server.faults.stallAfterBytes = 1000;
  server.faults.stallTimes = 1;
  const stalled = await getUntilQuiet('/img', 400);
  assert.deepEqual(stalled, { status: 200, bytes: 1000, ended: false });
  assert.equal(server.requests.at(-1)!.stalled, true);
  const whole = await getUntilQuiet('/img', 2000);
  assert.deepEqual(whole, { status: 200, bytes: BODY.length, ended: true }, 'the next GET is served whole');
  server.faults.stallAfterBytes = undefined;
});

test('silentPaths: a request is accepted and never answered, not even with headers', async () => {
  server.faults.silentPaths = new Set(['/img']);
  const r = await getUntilQuiet('/img', 400);
  assert.deepEqual(r, { bytes: 0, ended: false });
  assert.equal(server.requests.at(-1)!.stalled, true);
  server.faults.silentPaths = undefined;
});

test('busyPaths: the next N requests (HEAD too) get 503 or 429 with Retry-After as given, then the file is served', async () => {
  server.faults.busyPaths = new Map([['/img', { times: 2, retryAfter: '7' }]]);
  try {
    const heads = await new Promise<{ status?: number; retryAfter?: string | string[] }>((resolve, reject) => {
      const req = request(server.hostUrl('/img'), { method: 'HEAD' }, (res) => {
        res.resume();
        resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] });
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(heads, { status: 503, retryAfter: '7' });
    assert.deepEqual(await getUntilQuiet('/img', 2000), { status: 503, bytes: 'busy (injected 503)\n'.length, ended: true });
    assert.deepEqual(server.requests.slice(-2).map((q) => [q.method, q.status, q.busy]), [['HEAD', 503, true], ['GET', 503, true]]);
    assert.deepEqual(await getUntilQuiet('/img', 2000), { status: 200, bytes: BODY.length, ended: true }, 'served once the count is spent');
    server.faults.busyPaths.set('/img', { times: 1, status: 429, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' });
    assert.equal((await getUntilQuiet('/img', 2000)).status, 429);
  } finally {
    server.faults.busyPaths = undefined;
  }
});
