// The boot tests' HTTP server's quiet faults, from this machine (no QEMU): a transfer that stops
// after N bytes with the connection held open, and a path that is accepted but never answered.
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
