// A stock distribution root (src/lab/stock-root.ts) made into a ramboot image set and booted in
// QEMU over HTTP, the root's own systemd as PID 1. The reporter unit (src/lab/distro-probe.ts)
// is added to an unpacked copy of the cached root here, by the test, never by ramboot.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../util/run-tool.js';
import { parseProbe, PROBE_SCRIPT_PATH, PROBE_TTY, PROBE_UNIT, probeSerialArgs, renderProbeScript, renderProbeUnit, type ProbeReport } from './distro-probe.js';
import { startHttpServer, type HttpServer } from './http-server.js';
import { startQemu, type QemuBootOptions } from './qemu.js';
import type { StockRoot } from './stock-root.js';

export interface DistroBoot {
  /** The console (ttyS0): the initrd's lines, systemd's, the kernel's. */
  output: string;
  /** What the reporter wrote to its own port (PROBE_TTY). */
  probe: string;
  report: ProbeReport;
  wallMs: number;
  timedOut: boolean;
}

export interface DistroSet {
  work: string;
  out: string;
  cmdline: string;
  /** Seconds: unpacking the cached root and adding the reporter; `ramboot build`. */
  unpackSeconds: number;
  buildSeconds: number;
  http: HttpServer;
  boot(append?: string, more?: Partial<QemuBootOptions>): Promise<DistroBoot>;
  cleanup(): Promise<void>;
}

/** Unpack `stock`, add the reporter, build the set with the CLI, serve it on 127.0.0.1.
 * `analyze`: the reporter adds systemd-analyze's lines (the benchmark). */
export async function buildDistroSet(stock: StockRoot, name: string, opts: { analyze?: boolean } = {}): Promise<DistroSet> {
  const work = mkdtempSync(join(tmpdir(), `ramboot-distro-${name}-`));
  const root = join(work, 'root');
  mkdirSync(root);
  let started = performance.now();
  await runTool('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-p', '-I', 'zstd', '-xf', stock.tarball, '-C', root]);
  mkdirSync(join(root, 'usr/local/sbin'), { recursive: true });
  writeFileSync(join(root, PROBE_SCRIPT_PATH), renderProbeScript(opts), { mode: 0o755 });
  writeFileSync(join(root, 'etc/systemd/system', PROBE_UNIT), renderProbeUnit());
  mkdirSync(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync(`/etc/systemd/system/${PROBE_UNIT}`, join(root, 'etc/systemd/system/multi-user.target.wants', PROBE_UNIT));
  const unpackSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  const out = join(work, 'out');
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'build', '--root', root, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const buildSeconds = (performance.now() - started) / 1000;
  // The unpacked tree is only the build's input; the set is what boots.
  rmSync(root, { recursive: true, force: true });
  const cmdline = readFileSync(join(out, 'cmdline.txt'), 'utf8').trim();
  const http = await startHttpServer(out);

  let boots = 0;
  const boot = async (append = '', more: Partial<QemuBootOptions> = {}): Promise<DistroBoot> => {
    const probeFile = join(work, `probe-${boots + 1}.log`);
    writeFileSync(probeFile, '');
    const qemu = startQemu({
      kernel: join(out, 'vmlinuz'),
      initrd: join(out, 'initrd.img'),
      append: `${cmdline} console=ttyS0 rooturl=${http.url('/rootfs.squashfs')} ${append}`.trim(),
      memoryMiB: 2048,
      // systemd to multi-user under TCG on a shared 2-core machine, then poweroff.
      timeoutMs: 420_000,
      ...more,
      extraArgs: [...probeSerialArgs(probeFile), ...(more.extraArgs ?? [])],
    });
    const result = await qemu.done;
    const probe = readFileSync(probeFile, 'utf8');
    // RAMBOOT_CONSOLE_DIR keeps every console for reading after the run (CI artifacts, timings).
    const keep = process.env.RAMBOOT_CONSOLE_DIR;
    boots++;
    if (keep) writeFileSync(join(keep, `distro-${name}-${boots}.log`), `${result.output}\n--- ${PROBE_TTY} ---\n${probe}`);
    return { output: result.output, probe, report: parseProbe(probe), wallMs: result.wallMs, timedOut: result.timedOut };
  };

  return {
    work,
    out,
    cmdline,
    unpackSeconds,
    buildSeconds,
    http,
    boot,
    cleanup: async () => {
      await http.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
