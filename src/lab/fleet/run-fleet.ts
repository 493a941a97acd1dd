// A boot storm on one machine: N simulated clients (the ram script's fetch and verify stages
// under busybox, client.ts) and a few QEMU guests booting the real initrd, all started at once
// against one origin, directly or through nginx caching proxies (`ramboot config nginx --cache`),
// each server's egress shaped by tc tbf. Every node is a network namespace on the lab's bridge
// (network.ts). Returns per-client times, verify results, retries and the origin's bytes.
// Everything it creates (namespaces, veths, qdiscs, nginx, QEMU, client processes, the state
// directory) is removed before it returns or throws, and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, link, mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RambootError } from '../../errors.js';
import { renderNginxConfig } from '../../netboot/nginx-config.js';
import { renderNginxCacheConfig } from '../../netboot/nginx-cache-config.js';
import { startNginx, type LabServer } from '../pxe-lab/servers.js';
import { startQemu, type QemuSession } from '../qemu.js';
import { makeAppletDir, prepareClientTree, startClient, type ClientResult, type RunningClient } from './client.js';
import type { EdgeFaults } from './fault-origin.js';
import { createFleetNetwork, type FleetNetwork, type FleetNode } from './network.js';

export interface FleetSet {
  /** Directory holding vmlinuz, initrd.img, rootfs.squashfs, cmdline.txt. */
  dir: string;
  /** rootfs.squashfs's sha256 (SHA256SUMS). */
  sha256: string;
}

export interface FleetOptions {
  set: FleetSet;
  clients: number;
  /** QEMU guests booting the real initrd at the same time (default 0). */
  qemu?: number;
  /** Caching proxies in front of the origin: 0 (clients fetch from the origin), 1 or 2. */
  proxies: number;
  /** The origin's egress, Mbit/s (tc tbf). */
  originMbit: number;
  /** Each proxy's egress, Mbit/s (default: originMbit, the same NIC as the origin). */
  proxyMbit?: number;
  /** The CI variant (src/lab/fleet/fault-origin.ts): the clients fetch from an edge that, from
   * the storm's start, answers 503s, cuts and stalls transfers; behind it one nginx caching proxy,
   * behind that the origin (http-server.ts), all in the tier's namespace. */
  faults?: EdgeFaults;
  /** With `faults`: cut one transfer between the proxy and the origin after this many bytes,
   * a piece after the first of a response (what nginx 1.22 splices, README "Boot storms"). */
  originCutAfterBytes?: number;
  /** The proxy's proxy_read_timeout, seconds. */
  originTimeout?: number;
  /** Kernel command line words for every client and guest (e.g. fetch_stall=4). */
  append?: string;
  /** Extra environment for the simulated clients (RAM_FETCH_TRIES, ...). */
  clientEnv?: Record<string, string>;
  /** Start the simulated clients once every guest's network is up (its console shows the net
   * stage done), so the guests fetch in the middle of the storm instead of after it: under TCG a
   * guest needs tens of seconds to get there, a simulated client none. Default true. */
  syncGuests?: boolean;
  /** How long a QEMU guest may take to reach its init, default 600 s. */
  qemuTimeoutMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface GuestResult {
  name: string;
  /** Seconds from the guest's start (QEMU) to its real init (RAMBOOT-INIT pid=1), null if never. */
  seconds: number | null;
  /** The ram script's fetch line from the guest's console. */
  fetchLine: string | undefined;
  verified: boolean;
  reachedInit: boolean;
  retries: number;
  console: string;
}

export interface FleetResult {
  clients: ClientResult[];
  guests: GuestResult[];
  /** Seconds until the last simulated client verified its image. */
  lastSeconds: number;
  p50: number;
  p95: number;
  /** rootfs.squashfs body bytes the origin sent, all requests. */
  originBytes: number;
  imageBytes: number;
  /** Requests for the image each proxy answered, by cache status (HIT, MISS, ...). */
  proxyStatus: Record<string, number>[];
  retries: number;
  /** The fault servers' lines (faults only): `edge: ...` what was injected, `origin: ...` what the origin served. */
  originLines: string[];
  /** The run's state directory (removed by the time runFleet returns). */
  stateDir: string;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** Sum the body bytes of rootfs.squashfs answers in an access log of the `ramboot` formats. */
export function sumImageBytes(log: string): number {
  let total = 0;
  for (const m of log.matchAll(/"GET [^" ]*rootfs[^" ]*\.squashfs [^"]*" \d{3} (\d+)/g)) total += Number(m[1]);
  return total;
}

const ORIGIN_HOST = 2;
const PROXY_HOST = 3;
const GUEST_HOST = 10;
const CLIENT_HOST = 20;
export const FLEET_MAX_CLIENTS = 254 - CLIENT_HOST;

const FAULT_ORIGIN = fileURLToPath(new URL('./fault-origin.ts', import.meta.url));
/** The repository: `node --import tsx` resolves tsx from its working directory. */
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
/** The caching proxy's port behind the fault edge, inside the tier's namespace. */
const EDGE_UPSTREAM = 8080;

/** Where a client's image differs from the served one: the byte ranges, in 4 KiB pages. */
async function describeCorruption(got: string, want: string): Promise<string> {
  const [a, b] = await Promise.all([readFile(got).catch(() => Buffer.alloc(0)), readFile(want)]);
  const ranges: string[] = [];
  let start = -1;
  for (let off = 0; off < Math.max(a.length, b.length); off += 4096) {
    const bad = a.subarray(off, off + 4096).compare(b.subarray(off, off + 4096)) !== 0;
    if (bad && start < 0) start = off;
    if (!bad && start >= 0) {
      ranges.push(`${start}-${off - 1}`);
      start = -1;
    }
  }
  if (start >= 0) ranges.push(`${start}-${Math.max(a.length, b.length) - 1}`);
  return `${a.length} of ${b.length} bytes; differs at ${ranges.slice(0, 5).join(', ')}${ranges.length > 5 ? ' ...' : ''}`;
}

export async function runFleet(opts: FleetOptions): Promise<FleetResult> {
  const log = opts.log ?? (() => {});
  if (opts.clients < 1 || opts.clients > FLEET_MAX_CLIENTS) throw new RambootError('usage', `fleet: ${opts.clients} clients; 1..${FLEET_MAX_CLIENTS} fit the lab's /24`);
  const state = await mkdtemp(join(tmpdir(), 'ramboot-fleet-'));
  // The clients run as nobody and must reach their trees under it.
  await chmod(state, 0o711);
  const tag = state.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x');
  const servers: LabServer[] = [];
  const children: ChildProcess[] = [];
  const guests: QemuSession[] = [];
  const running: RunningClient[] = [];
  let net: FleetNetwork | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const g of guests) g.kill();
      for (const c of running) c.kill();
      await Promise.all(running.map((c) => c.done.catch(() => {})));
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await Promise.all(guests.map((g) => g.done.catch(() => {})));
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
      await Promise.all(servers.map((s) => s.stop()));
      await net?.destroy();
      await rm(state, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    void close().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    net = await createFleetNetwork(tag);
    const www = join(state, 'www');
    await mkdir(www);
    // A hard link (a copy across filesystems): the fault origin serves nothing through a symlink.
    await link(join(opts.set.dir, 'rootfs.squashfs'), join(www, 'rootfs.squashfs')).catch(() => copyFile(join(opts.set.dir, 'rootfs.squashfs'), join(www, 'rootfs.squashfs')));
    const imageBytes = (await stat(join(www, 'rootfs.squashfs'))).size;

    // The origin: nginx on `ramboot config nginx`, or the fault origin behind a proxy.
    const origin = await net.addNode('origin', ORIGIN_HOST);
    const originDir = join(state, 'origin');
    await mkdir(originDir);
    const originLog = join(originDir, 'access.log');
    const proxyLogs: string[] = [];
    let faultOut = '';
    let armFaults = () => {};
    let urls: string[];
    if (opts.faults) {
      // origin (http-server.ts, loopback) <- nginx cache (:8080) <- edge with the faults (:80).
      const role = async (args: string[]): Promise<{ port: number; arm: () => void }> => {
        const [cmd, ...argv] = origin.exec([process.execPath, '--import', 'tsx', FAULT_ORIGIN, ...args]);
        // ip netns exec execs node in place: a signal to this child reaches the server.
        const child = spawn(cmd!, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let out = '';
        const port = await new Promise<number>((resolve, reject) => {
          let err = '';
          child.stdout!.on('data', (d: Buffer) => {
            faultOut += d.toString();
            out += d.toString();
            const m = /^PORT (\d+)$/m.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
          child.once('exit', (code) => reject(new RambootError('tool', `fault-origin.ts ${args[0]} exited (${code}): ${err.trim()}`)));
        });
        return { port, arm: () => child.kill('SIGUSR1') };
      };
      const inner = await role(['origin', www, ...(opts.originCutAfterBytes ? [JSON.stringify({ cutAfterBytes: opts.originCutAfterBytes })] : [])]);
      const proxyLog = join(originDir, 'proxy-access.log');
      proxyLogs.push(proxyLog);
      const conf = join(originDir, 'proxy.conf');
      await writeFile(conf, renderNginxCacheConfig({ origin: `http://127.0.0.1:${inner.port}/`, baseUrl: `http://127.0.0.1:${EDGE_UPSTREAM}/`, cacheDir: join(originDir, 'cache'), accessLog: proxyLog, slice: '1m', ...(opts.originTimeout ? { originTimeout: opts.originTimeout } : {}) }));
      servers.push(await startNginx(origin, originDir, conf));
      const edge = await role(['edge', origin.ip, String(EDGE_UPSTREAM), JSON.stringify(opts.faults)]);
      armFaults = () => {
        inner.arm();
        edge.arm();
      };
      urls = [`http://${origin.ip}/rootfs.squashfs`];
    } else {
      const conf = join(originDir, 'origin.conf');
      await writeFile(conf, renderNginxConfig({ root: www, baseUrl: `http://${origin.ip}/`, accessLog: originLog }));
      servers.push(await startNginx(origin, originDir, conf));
      await net.shape(origin, opts.originMbit);
      urls = [`http://${origin.ip}/rootfs.squashfs`];
      if (opts.proxies > 0) urls = [];
      for (let p = 0; p < opts.proxies; p++) {
        const proxy = await net.addNode(`proxy${p + 1}`, PROXY_HOST + p);
        const dir = join(state, `proxy${p + 1}`);
        await mkdir(dir);
        const conf = join(dir, 'proxy.conf');
        const proxyLog = join(dir, 'access.log');
        proxyLogs.push(proxyLog);
        await writeFile(conf, renderNginxCacheConfig({ origin: `http://${origin.ip}/`, baseUrl: `http://${proxy.ip}/`, cacheDir: join(dir, 'cache'), accessLog: proxyLog, ...(opts.originTimeout ? { originTimeout: opts.originTimeout } : {}) }));
        servers.push(await startNginx(proxy, dir, conf));
        await net.shape(proxy, opts.proxyMbit ?? opts.originMbit);
        urls.push(`http://${proxy.ip}/rootfs.squashfs`);
      }
    }
    const words = `rooturl=${urls.join(',')} rootsha256=${opts.set.sha256} ${opts.append ?? ''}`.trim();

    // The clients' trees and namespaces, all made before the storm starts.
    const applets = await makeAppletDir(join(state, 'applets'));
    const clientNodes: { name: string; node: FleetNode; dir: string }[] = [];
    for (let i = 0; i < opts.clients; i++) {
      const name = `c${i + 1}`;
      const node = await net.addNode(name, CLIENT_HOST + i);
      const dir = join(state, 'clients', name);
      await mkdir(dir, { recursive: true });
      prepareClientTree(dir, `boot=ram ip=dhcp ${words}`, node);
      clientNodes.push({ name, node, dir });
    }
    const guestNodes: FleetNode[] = [];
    for (let g = 0; g < (opts.qemu ?? 0); g++) guestNodes.push(await net.addNode(`vm${g + 1}`, GUEST_HOST + g));
    log(`fleet: ${opts.clients} clients + ${guestNodes.length} QEMU guests, ${opts.faults ? 'faulty edge, 1 proxy, origin' : `origin ${opts.originMbit} Mbit/s, ${opts.proxies} proxies`}; ${(imageBytes / 2 ** 20).toFixed(1)} MiB image`);

    // The storm: the guests first (they need tens of seconds to reach their fetch), then the
    // clients all at once.
    const tq = performance.now();
    const netUp: Promise<void>[] = [];
    const cmdline = (await readFile(join(opts.set.dir, 'cmdline.txt'), 'utf8')).trim();
    const guestDone = guestNodes.map((node, g) => {
      const session = startQemu({
        kernel: join(opts.set.dir, 'vmlinuz'),
        initrd: join(opts.set.dir, 'initrd.img'),
        // no_timer_check: under TCG on an overloaded host the kernel's IO-APIC timer check can
        // miss its ticks and panic ("IO-APIC + timer doesn't work!", seen once at load 20).
        append: `${cmdline} console=ttyS0 no_timer_check ${words}`,
        memoryMiB: 768,
        cpus: 1,
        wrap: node.exec([]),
        timeoutMs: opts.qemuTimeoutMs ?? 600_000,
      });
      guests.push(session);
      let reportNetUp: () => void = () => {};
      netUp.push(new Promise<void>((resolve) => (reportNetUp = resolve)));
      return (async (): Promise<GuestResult> => {
        let seconds: number | null = null;
        try {
          await session.waitFor(/ramboot: stage net done/).finally(reportNetUp);
          await session.waitFor(/RAMBOOT-INIT pid=1 /);
          seconds = (performance.now() - tq) / 1000;
        } catch {
          // Reported below from the console.
        }
        session.kill();
        await session.done.catch(() => {});
        const out = session.output();
        return {
          name: `vm${g + 1}`,
          seconds,
          // Lines may carry the kernel's [ time] prefix: the script writes to /dev/kmsg.
          fetchLine: /ramboot: fetch: [\d.]+ MiB from .*$/m.exec(out)?.[0],
          verified: /ramboot: verify: sha256 [0-9a-f]{64} matches/.test(out),
          reachedInit: seconds !== null,
          retries: (out.match(/ramboot: warning: fetch: .*; try \d+ of \d+/gm) ?? []).length,
          console: out,
        };
      })();
    });
    if (opts.syncGuests !== false) await Promise.all(netUp);
    armFaults();
    const t0 = performance.now();
    for (const { name, node, dir } of clientNodes) running.push(startClient(name, node, dir, applets, t0, opts.clientEnv ?? {}));
    const clients = await Promise.all(
      running.map(async (c, i) => {
        const result = await c.done;
        if (result.verify === 'mismatch') result.corruption = await describeCorruption(join(clientNodes[i]!.dir, 'root/run/ramboot/image/rootfs.squashfs'), join(www, 'rootfs.squashfs'));
        // The image is checked (report.json) and no longer needed: free the space now.
        rmSync(join(clientNodes[i]!.dir, 'root/run/ramboot/image'), { recursive: true, force: true });
        return result;
      }),
    );
    const guestResults = await Promise.all(guestDone);
    const last = Math.max(...clients.map((c) => c.seconds));
    log(`fleet: last client after ${last.toFixed(1)} s`);

    const originBytes = opts.faults ? [...faultOut.matchAll(/^origin: GET \S*rootfs\.squashfs \d+ (\d+) B/gm)].reduce((a, m) => a + Number(m[1]), 0) : sumImageBytes(existsSync(originLog) ? await readFile(originLog, 'utf8') : '');
    const proxyStatus = await Promise.all(
      proxyLogs.map(async (file) => {
        const counts: Record<string, number> = {};
        const text = existsSync(file) ? await readFile(file, 'utf8') : '';
        for (const m of text.matchAll(/rootfs\.squashfs [^"]*" \d{3} .* cache=(\S+)/g)) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
        return counts;
      }),
    );
    const times = clients.map((c) => c.seconds);
    return {
      clients,
      guests: guestResults,
      lastSeconds: last,
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      originBytes,
      imageBytes,
      proxyStatus,
      retries: clients.reduce((a, c) => a + c.retries, 0),
      originLines: faultOut.split('\n').filter((l) => /^(origin|edge): /.test(l)),
      stateDir: state,
    };
  } finally {
    await close();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
