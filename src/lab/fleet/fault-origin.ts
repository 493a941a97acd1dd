// The fleet's CI servers, started inside the tier's network namespace with
// `ip netns exec NS node --import tsx fault-origin.ts ROLE ...`:
//   origin DIR [SPEC]       src/lab/http-server.ts serving DIR on the namespace's 127.0.0.1
//                           (the origin behind the nginx caching proxy); prints `PORT <n>`, then
//                           one `origin: ...` line per request. SPEC `{"cutAfterBytes": N}`:
//                           once armed and once it has served one whole piece, the next transfer
//                           to the proxy is cut after N bytes (the nginx splice, README).
//   edge ADDR UPSTREAM SPEC a misbehaving front on ADDR:80 that forwards to 127.0.0.1:UPSTREAM
//                           (the caching proxy) and, once armed by SIGUSR1 (the storm's start),
//                           answers the next `fail503` GETs 503 with Retry-After (and the same
//                           machine's next HEAD, as a busy server would), cuts the next
//                           `cut` transfers after `cutAfterBytes`, then leaves the next `stall`
//                           ones silent after `stallAfterBytes` until the client hangs up.
// The faults sit between the machines and the proxy: a transfer cut between the proxy and the
// origin makes nginx 1.22's slice module go on with the next piece, so the client gets a spliced
// body (README "Boot storms"), which would test nginx rather than the machines.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHttpServer } from '../http-server.js';

export interface EdgeFaults {
  fail503?: number;
  retryAfter?: number;
  cut?: number;
  cutAfterBytes?: number;
  stall?: number;
  stallAfterBytes?: number;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function origin(dir: string, spec: { cutAfterBytes?: number }): Promise<() => Promise<void>> {
  let armed = false;
  let cutDone = false;
  const server = await startHttpServer(dir, {
    log: (line) => {
      say(`origin: ${line}`);
      // A whole piece went out: the next request is another piece of a response in progress.
      if (armed && !cutDone && spec.cutAfterBytes !== undefined && / 206 1048576 B$/.test(line)) {
        cutDone = true;
        Object.assign(server.faults, { cutAfterBytes: spec.cutAfterBytes, cutTimes: 1 });
      }
    },
  });
  process.on('SIGUSR1', () => (armed = true));
  say(`PORT ${server.port}`);
  return () => server.close();
}

async function edge(address: string, upstreamPort: number, spec: EdgeFaults): Promise<() => Promise<void>> {
  const left = { fail503: 0, cut: 0, stall: 0 };
  const gets = new Map<string, number>();
  const busy = new Set<string>();
  process.on('SIGUSR1', () => {
    Object.assign(left, { fail503: spec.fail503 ?? 0, cut: spec.cut ?? 0, stall: spec.stall ?? 0 });
    say('edge: armed');
  });
  const front = createServer((req, res) => {
    const what = `edge: ${req.method} ${req.url} range=${req.headers.range ?? '-'}`;
    const from = req.socket.remoteAddress ?? '';
    // A busy server stays busy a moment: the machine's next HEAD (asking for Retry-After) gets
    // the same answer as its GET.
    const stillBusy = req.method === 'HEAD' && busy.delete(from);
    if ((req.method === 'GET' && left.fail503 > 0) || stillBusy) {
      if (!stillBusy) {
        left.fail503 -= 1;
        busy.add(from);
      }
      say(`${what} 503 (injected, Retry-After: ${spec.retryAfter ?? 1})`);
      res.writeHead(503, { 'retry-after': String(spec.retryAfter ?? 1), 'content-type': 'text/plain', 'content-length': 9 });
      return void res.end('overload\n');
    }
    // A machine's first GET is its size probe (busybox's --spider hangs up after the headers),
    // which a cut or stall would never reach: those go to the GETs after it.
    if (req.method === 'GET') gets.set(from, (gets.get(from) ?? 0) + 1);
    const body = req.method === 'GET' && gets.get(from)! > 1;
    const fault = body && left.cut > 0 ? 'cut' : body && left.stall > 0 ? 'stall' : undefined;
    if (fault) left[fault] -= 1;
    const limit = fault === 'cut' ? (spec.cutAfterBytes ?? 0) : fault === 'stall' ? (spec.stallAfterBytes ?? 0) : Infinity;
    const upstream = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (sent >= limit) return;
        const part = chunk.subarray(0, Math.max(0, limit - sent));
        sent += part.length;
        res.write(part);
        if (sent < limit) return;
        say(`${what} ${answer.statusCode} ${sent} B (${fault === 'cut' ? 'cut' : 'stalled'})`);
        answer.destroy();
        // A cut ends the connection short of the Content-Length; a stall keeps it, silent.
        if (fault === 'cut') res.socket?.end();
      });
      answer.on('end', () => {
        if (sent < limit) {
          say(`${what} ${answer.statusCode} ${sent} B`);
          res.end();
        }
      });
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', () => res.destroy());
    // The client hung up (a size probe, a watchdog): so does the request to the proxy.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  // A client that half-closes after its request (busybox nc, asking a HEAD for Retry-After) must
  // still get the answer: Node's server otherwise ends the connection at the client's FIN.
  // (Node's own, undocumented switch of _http_server.js; nginx behaves this way by default.)
  (front as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  await new Promise<void>((resolve) => front.listen(80, address, resolve));
  say(`PORT ${(front.address() as AddressInfo).port}`);
  return () =>
    new Promise<void>((resolve) => {
      front.closeAllConnections();
      front.close(() => resolve());
    });
}

async function main(): Promise<void> {
  const [role, ...args] = process.argv.slice(2);
  let close: () => Promise<void>;
  if (role === 'origin' && args[0]) close = await origin(args[0], args[1] ? (JSON.parse(args[1]) as { cutAfterBytes?: number }) : {});
  else if (role === 'edge' && args.length === 3) close = await edge(args[0]!, Number(args[1]), JSON.parse(args[2]!) as EdgeFaults);
  else throw new Error('usage: fault-origin.ts origin DIR | edge ADDR UPSTREAM-PORT SPEC-JSON');
  const stop = () => void close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`fault-origin: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
