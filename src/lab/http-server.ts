// A read-only static file server for boot tests and `ramboot demo`. It binds 127.0.0.1 only:
// QEMU's user-mode network (slirp) reaches it from the guest as 10.0.2.2, and nothing off this
// machine can. Range requests (206/416) and HEAD are supported, because the boot script resumes
// interrupted downloads; faults (a status for a path, a connection cut after N bytes, a transfer
// that stops after N bytes with the connection held open, a path that is never answered, a busy
// path answering 503 or 429 with a Retry-After) let tests drive the boot script's failure paths.
// Every request is logged in `requests`.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join, sep } from 'node:path';
import { inputError } from '../errors.js';

/** Where the guest sees the host in QEMU's user-mode network (QEMU docs, "Network options"). */
export const GUEST_HOST_ADDRESS = '10.0.2.2';
const BIND_ADDRESS = '127.0.0.1';

export interface HttpFaults {
  /** Answer these paths (e.g. '/rootfs.squashfs') with this status and a short text body. */
  failPaths?: Map<string, number>;
  /** Close the connection after this many body bytes of a GET, headers promising the full length. */
  cutAfterBytes?: number;
  /** Cut only the next N GETs (then serve normally), so a retry can succeed. Default: all. */
  cutTimes?: number;
  /** Stop sending after this many body bytes of a GET and keep the connection open, silent,
   * until the client gives up (or the server closes): a stalled transfer, not a cut one. */
  stallAfterBytes?: number;
  /** Stall only the next N GETs (then serve normally). Default: all. */
  stallTimes?: number;
  /** Accept requests for these paths and never answer them, not even with headers. */
  silentPaths?: Set<string>;
  /** Answer the next `times` requests (GET or HEAD) of each path as a busy server would, then
   * serve it normally: a boot storm's overloaded origin or cache. */
  busyPaths?: Map<string, BusyFault>;
}

export interface BusyFault {
  /** How many requests still get the busy answer; counts down to 0. */
  times: number;
  /** 503 (the default) or 429. */
  status?: number;
  /** Sent as the Retry-After header exactly as given (seconds, a date, or garbage for tests);
   * none when absent. */
  retryAfter?: string;
}

export interface HttpServerOptions extends HttpFaults {
  /** Called with one line per finished request, e.g. "GET /rootfs.squashfs 206 1048576 B". */
  log?: (line: string) => void;
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP; URLs then say https://. */
  tls?: { key: Buffer | string; cert: Buffer | string; ciphers?: string };
}

export interface HttpRequestRecord {
  method: string;
  path: string;
  status: number;
  /** Body bytes sent so far (final once the response is finished). */
  bytes: number;
  range?: string;
  cut?: boolean;
  /** Left hanging by stallAfterBytes or silentPaths. */
  stalled?: boolean;
  /** Answered busy by busyPaths. */
  busy?: boolean;
}

export interface HttpServer {
  port: number;
  /** Always 127.0.0.1. */
  address: string;
  /** The URL of `path` as the QEMU guest sees it: http://10.0.2.2:PORT/path (https:// with `tls`). */
  url(path: string): string;
  /** The URL of `path` from this machine: http://127.0.0.1:PORT/path. */
  hostUrl(path: string): string;
  requests: HttpRequestRecord[];
  /** The live fault settings; change them between boots. */
  faults: HttpFaults;
  close(): Promise<void>;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` against a size. null: serve the whole file (absent,
 * malformed or multi-range headers may be ignored, RFC 9110 14.2); 'unsatisfiable': 416. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < start) return null;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** The file under `root` for a URL path, or null: no `..`, no NUL, no way out through a symlink. */
async function resolveFile(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const parts = decoded.split('/').filter((p) => p !== '' && p !== '.');
  if (decoded.includes('\0') || decoded.includes('\\') || parts.includes('..')) return null;
  const real = await realpath(join(root, ...parts)).catch(() => null);
  if (!real || !(real === root || real.startsWith(root + sep))) return null;
  const st = await stat(real).catch(() => null);
  return st?.isFile() ? real : null;
}

function sendText(res: ServerResponse, status: number, text: string, record: HttpRequestRecord, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  record.status = status;
  if (record.method !== 'HEAD') record.bytes = Buffer.byteLength(text);
  res.end(record.method === 'HEAD' ? undefined : text);
}

export async function startHttpServer(dir: string, opts: HttpServerOptions = {}): Promise<HttpServer> {
  const real = await realpath(dir).catch(() => null);
  if (!real || !(await stat(real)).isDirectory()) throw inputError(`cannot serve ${dir}: not a directory`);
  const root: string = real;
  const { log, tls, ...faults } = opts;
  const requests: HttpRequestRecord[] = [];
  const sockets = new Set<Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const record: HttpRequestRecord = { method, path, status: 0, bytes: 0 };
    if (req.headers.range) record.range = req.headers.range;
    requests.push(record);
    res.on('close', () => log?.(`${method} ${path} ${record.status} ${record.bytes} B${record.cut ? ' (cut)' : ''}${record.stalled ? ' (stalled)' : ''}${record.busy ? ' (busy)' : ''}`));

    if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'read-only server\n', record, { allow: 'GET, HEAD' });
    if (faults.silentPaths?.has(path)) {
      record.stalled = true;
      return;
    }
    const busy = faults.busyPaths?.get(path);
    if (busy && busy.times > 0) {
      busy.times -= 1;
      record.busy = true;
      const status = busy.status ?? 503;
      return sendText(res, status, `busy (injected ${status})\n`, record, busy.retryAfter === undefined ? {} : { 'retry-after': busy.retryAfter });
    }
    const failStatus = faults.failPaths?.get(path);
    if (failStatus !== undefined) return sendText(res, failStatus, `injected ${failStatus}\n`, record);
    const file = await resolveFile(root, path);
    if (!file) return sendText(res, 404, 'not found\n', record);

    const size = (await stat(file)).size;
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') return sendText(res, 416, 'range not satisfiable\n', record, { 'content-range': `bytes */${size}` });
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    const length = Math.max(0, end - start + 1);
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': length, 'accept-ranges': 'bytes' };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    record.status = range ? 206 : 200;
    res.writeHead(record.status, headers);
    if (method === 'HEAD' || length === 0) return void res.end();

    const cut = faults.cutAfterBytes !== undefined && (faults.cutTimes === undefined || faults.cutTimes > 0);
    if (cut && faults.cutTimes !== undefined) faults.cutTimes -= 1;
    const stall = !cut && faults.stallAfterBytes !== undefined && (faults.stallTimes === undefined || faults.stallTimes > 0);
    if (stall && faults.stallTimes !== undefined) faults.stallTimes -= 1;
    const sendLength = cut ? Math.min(length, faults.cutAfterBytes!) : stall ? Math.min(length, faults.stallAfterBytes!) : length;
    if (sendLength === 0) {
      if (stall) return void (record.stalled = true);
      record.cut = true;
      return void res.socket?.destroy();
    }
    const stream = createReadStream(file, { start, end: start + sendLength - 1 });
    stream.on('data', (chunk) => (record.bytes += chunk.length));
    stream.on('error', () => res.destroy());
    if (stall) {
      // The bytes go out, then nothing: the response stays open until the client hangs up.
      stream.pipe(res, { end: false });
      stream.on('end', () => (record.stalled = true));
      return;
    }
    if (!cut) return void stream.pipe(res);
    // Send the first bytes, then end the TCP connection short of the promised content-length.
    stream.pipe(res, { end: false });
    stream.on('end', () => {
      record.cut = true;
      res.socket?.end();
    });
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => res.destroy());
  };
  const server = tls ? createTlsServer(tls, onRequest) : createServer(onRequest);
  // busybox nc (the ram script's Retry-After HEAD) half-closes once it has sent the request; by
  // default Node then drops an answer that is not written within about a millisecond.
  // (Node's http server reads this field; @types/node 20 does not declare it.)
  (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, BIND_ADDRESS, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const withSlash = (p: string) => (p.startsWith('/') ? p : `/${p}`);
  const scheme = tls ? 'https' : 'http';

  return {
    port,
    address: BIND_ADDRESS,
    url: (p) => `${scheme}://${GUEST_HOST_ADDRESS}:${port}${withSlash(p)}`,
    hostUrl: (p) => `${scheme}://${BIND_ADDRESS}:${port}${withSlash(p)}`,
    requests,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
