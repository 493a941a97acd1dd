// Boot to the real init in QEMU (TCG, 2 GiB, user networking): one squashfs, built once with
// `ramboot rootfs` from the minbase root plus a marker init, served on 127.0.0.1 to all of
//   ramboot   rooturl=            (its own initrd, the image's sha256 baked in, as `build` does)
//   dracut    root=live:URL rd.live.ram=1 rd.neednet=1 ip=dhcp   (dmsquash-live + livenet)
//   live-boot boot=live fetch=URL ip=dhcp                         (initramfs-tools, MODULES=most)
//   floor     a busybox initrd whose /init prints the uptime at once: the kernel's own share
//   floor-fetch  the floor plus NIC driver, udhcpc and a wget of the image into tmpfs
//             (floor-fetch.ts): the least any initrd that fetches this image can take
// all with init=/sbin/ramboot-bench-init, which prints `RAMBOOT-INIT pid=1 uptime=S` (the guest's
// /proc/uptime when the real init runs) and powers off. Host wall time is from QEMU's start to
// that line on the serial console.
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startHttpServer } from '../src/lab/http-server.js';
import { bootQemu } from '../src/lab/qemu.js';
import { renderDefaultCmdline } from '../src/cmdline/render-cmdline.js';
import { encodeNewc } from '../src/cpio/newc-writer.js';
import type { CpioEntry } from '../src/cpio/entry.js';
import { MARKER_INIT, parseInitMarkers } from '../src/lab/demo-root.js';
import { runTool } from '../src/util/run-tool.js';
import { sha256File } from '../src/util/sha256.js';
import { buildFloorFetchInitrd } from './floor-fetch.js';
import { stats, type Stats } from './measure.js';
import type { BenchSetup, Step } from './setup.js';

export const BENCH_INIT_PATH = '/sbin/ramboot-bench-init';
/** minbase has no poweroff (no init system); the sysrq trigger powers off without one. */
export const BENCH_INIT = MARKER_INIT.replace('poweroff -f\n', 'poweroff -f 2>/dev/null || echo o > /proc/sysrq-trigger\n');

const FLOOR_INIT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
read -r up _ < /proc/uptime
echo "RAMBOOT-INIT pid=$$ uptime=$up"
echo "RAMBOOT-DONE"
/bin/busybox poweroff -f
`;

/** Stop QEMU at the marker, or as soon as a boot has visibly failed (no point waiting out a
 * timeout): a panic, dracut's emergency shell, initramfs-tools' (initramfs) prompt, ram's error. */
const UNTIL = /RAMBOOT-DONE|Kernel panic - not syncing|Entering emergency mode|rdsosreport|\(initramfs\) |ramboot: error:/;

export interface BootInputs {
  kernel: string;
  squashfs: string;
  squashfsSha256: string;
  squashfsSize: number;
  initrds: { ramboot: string; dracut: string; liveBoot: string; floor: string; floorFetch: string; liveBootDep?: string };
}

export interface BootResult {
  name: string;
  cmdline: string;
  initrd: string;
  initrdSize: number;
  guestUptimeS: Stats;
  hostWallS: Stats;
  /** Kernel timestamp of "Run /init as init process": the kernel's share, initrd unpacking included. */
  rdinitS: Stats;
  /** ramboot: median seconds of each `ramboot: stage X done in Ns` line. */
  stages?: Record<string, number>;
  error?: string;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function buildFloorInitrd(path: string): Promise<void> {
  const busybox = await readFile('/bin/busybox');
  const dir = (p: string): CpioEntry => ({ path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  const entries: CpioEntry[] = [
    dir('bin'),
    { path: 'bin/busybox', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 0, data: busybox },
    dir('dev'),
    { path: 'dev/console', type: 'chardev', mode: 0o600, uid: 0, gid: 0, mtime: 0, rdevMajor: 5, rdevMinor: 1 },
    { path: 'init', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 0, data: Buffer.from(FLOOR_INIT) },
    dir('proc'),
  ];
  await writeFile(path, gzipSync(encodeNewc(entries)));
}

/** The boot image set, built once: marker root (hard-linked copy of base), squashfs, floor
 * initrd. The ramboot initrd is rebuilt every run (it is ramboot's current code under test). */
export async function prepareBootInputs(setup: BenchSetup, ramboot: readonly string[], peerInitrds: { dracut: string; liveBoot: string; liveBootDep?: string }, step: Step): Promise<BootInputs> {
  const dir = join(setup.dir, 'boot');
  const serve = join(dir, 'serve');
  const squashfs = join(serve, 'rootfs.squashfs');
  await mkdir(serve, { recursive: true });
  if (!(await exists(squashfs))) {
    const root = join(dir, 'root');
    step('boot image: marker root (hard links of base + /sbin/ramboot-bench-init), ramboot rootfs');
    await rm(root, { recursive: true, force: true });
    await runTool('cp', ['-al', setup.base.root, root]);
    await writeFile(join(root, BENCH_INIT_PATH.slice(1)), BENCH_INIT, { mode: 0o755 });
    await runTool(ramboot[0]!, [...ramboot.slice(1), 'rootfs', '--root', root, '-o', `${squashfs}.tmp`]);
    await rm(join(serve, 'filesystem.squashfs'), { force: true });
    await runTool('mv', [`${squashfs}.tmp`, squashfs]);
    // Older live-boot looks for filesystem.squashfs by name; the same file under both names.
    await link(squashfs, join(serve, 'filesystem.squashfs'));
  }
  const squashfsSha256 = await sha256File(squashfs);
  const floor = join(dir, 'floor.img');
  if (!(await exists(floor))) await buildFloorInitrd(floor);
  // Rebuilt every run: it is small, and its script is the bench's own code under change.
  const floorFetch = join(dir, 'floor-fetch.img');
  await buildFloorFetchInitrd(floorFetch, setup.base.root, setup.base.stamp.kver);
  const rambootInitrd = join(dir, 'ramboot.img');
  step('boot image: ramboot initrd with the image sha256 baked in');
  await runTool(ramboot[0]!, [...ramboot.slice(1), 'initrd', '--root', setup.base.root, '--rootsha256', squashfsSha256, '-o', rambootInitrd]);
  return {
    kernel: join(setup.base.root, 'boot', `vmlinuz-${setup.base.stamp.kver}`),
    squashfs,
    squashfsSha256,
    squashfsSize: (await stat(squashfs)).size,
    initrds: { ramboot: rambootInitrd, dracut: peerInitrds.dracut, liveBoot: peerInitrds.liveBoot, floor, floorFetch, ...(peerInitrds.liveBootDep ? { liveBootDep: peerInitrds.liveBootDep } : {}) },
  };
}

interface BootPlan {
  name: string;
  initrd: string;
  cmdline: (url: string) => string;
  timeoutMs?: number;
}

export async function benchBoot(setup: BenchSetup, inputs: BootInputs, rounds: number, step: Step): Promise<BootResult[]> {
  const logs = join(setup.dir, 'out', 'boot');
  await mkdir(logs, { recursive: true });
  const tail = `console=ttyS0 init=${BENCH_INIT_PATH}`;
  const plans: BootPlan[] = [
    { name: 'ramboot', initrd: inputs.initrds.ramboot, cmdline: (url) => `${renderDefaultCmdline({ rooturl: url })} ${tail}` },
    { name: 'dracut', initrd: inputs.initrds.dracut, cmdline: (url) => `root=live:${url} rd.live.ram=1 rd.neednet=1 ip=dhcp rd.live.overlay.overlayfs=1 ${tail}` },
    { name: 'live-boot', initrd: inputs.initrds.liveBoot, cmdline: (url) => `boot=live fetch=${url} ip=dhcp ${tail}` },
    { name: 'floor', initrd: inputs.initrds.floor, cmdline: () => 'console=ttyS0' },
    { name: 'floor-fetch', initrd: inputs.initrds.floorFetch, cmdline: (url) => `console=ttyS0 floorurl=${url}` },
  ];
  // The smaller MODULES=dep image, to see whether the smallest peer initrd boots this way at all
  // (dep picks modules for the build machine's own disk, so it may lack the guest's NIC driver).
  if (inputs.initrds.liveBootDep) {
    plans.splice(3, 0, { name: 'live-boot-dep', initrd: inputs.initrds.liveBootDep, cmdline: (url) => `boot=live fetch=${url} ip=dhcp ${tail}`, timeoutMs: 150_000 });
  }
  const server = await startHttpServer(join(inputs.squashfs, '..'));
  const url = server.url('/rootfs.squashfs');
  const samples = new Map<string, { uptime: number[]; wall: number[]; rdinit: number[]; stages: Map<string, number[]>; error?: string }>();
  for (const p of plans) samples.set(p.name, { uptime: [], wall: [], rdinit: [], stages: new Map() });
  step(`boot: ${rounds} alternating rounds of ${plans.map((p) => p.name).join(', ')} (QEMU TCG, -m 2048)`);
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const p of plans) {
        const s = samples.get(p.name)!;
        if (s.error) continue;
        let markerAt: number | undefined;
        const started = performance.now();
        let seen = '';
        const boot = await bootQemu({
          kernel: inputs.kernel,
          initrd: p.initrd,
          append: p.cmdline(url),
          memoryMiB: 2048,
          timeoutMs: p.timeoutMs ?? 300_000,
          until: UNTIL,
          onOutput: (text) => {
            seen += text;
            if (markerAt === undefined && /RAMBOOT-INIT [^\n]*\n/.test(seen)) markerAt = performance.now();
          },
        }).catch((error: Error) => ({ output: seen, error }));
        await writeFile(join(logs, `${p.name}-${round}.log`), boot.output);
        const markers = parseInitMarkers(boot.output);
        if ('error' in boot || markers.uptime === undefined || markerAt === undefined || markers.pid !== 1) {
          const last = boot.output.trim().split('\n').slice(-3).join(' | ');
          if (!('error' in boot) && boot.timedOut) s.error = `timed out after ${(p.timeoutMs ?? 300_000) / 1000} s (console: ${last})`;
          s.error ??= 'error' in boot ? boot.error.message : `no init marker (console: ${last})`;
          step(`  round ${round}/${rounds} ${p.name}: FAILED ${s.error.slice(0, 300)}`);
          continue;
        }
        s.uptime.push(markers.uptime);
        s.wall.push((markerAt - started) / 1000);
        const rdinit = /\[\s*([\d.]+)\] Run \/init as init process/.exec(boot.output);
        if (rdinit) s.rdinit.push(Number(rdinit[1]));
        for (const m of boot.output.matchAll(/ramboot: stage (\w+) done in ([\d.]+)s/g)) {
          const list = s.stages.get(m[1]!) ?? [];
          list.push(Number(m[2]));
          s.stages.set(m[1]!, list);
        }
        step(`  round ${round}/${rounds} ${p.name}: init at ${markers.uptime.toFixed(2)} s guest uptime, ${((markerAt - started) / 1000).toFixed(2)} s host wall`);
      }
    }
  } finally {
    await server.close();
  }
  const results: BootResult[] = [];
  for (const p of plans) {
    const s = samples.get(p.name)!;
    const result: BootResult = {
      name: p.name,
      cmdline: p.cmdline('http://10.0.2.2:PORT/rootfs.squashfs'),
      initrd: p.initrd,
      initrdSize: (await stat(p.initrd)).size,
      guestUptimeS: stats(s.uptime),
      hostWallS: stats(s.wall),
      rdinitS: stats(s.rdinit),
    };
    if (s.stages.size > 0) result.stages = Object.fromEntries([...s.stages].map(([k, v]) => [k, stats(v).median]));
    if (s.error) result.error = s.error;
    results.push(result);
  }
  return results;
}
