// An arm64 image set for the boot tests, built on this (amd64) machine: the demo root around
// Debian's current arm64 cloud kernel and Debian's arm64 busybox-static (both through apt, see
// scripts/setup.sh), built with the CLI with no --arch (the root's ELF files say arm64), booted
// in qemu-system-aarch64 (virt, Cortex-A57, TCG) with the set's Image and its own cmdline.txt.
// Reused by the aa64 UKI / AAVMF boot test: `buildArm64Set(stamp, ['--uki', ...])`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptBusybox } from '../../src/initrd/apt-busybox.ts';
import { fetchDebianKernel } from '../../src/lab/debian-kernel.ts';
import { makeDemoRoot } from '../../src/lab/demo-root.ts';
import { bootQemu, startQemu, type QemuBootOptions } from '../../src/lab/qemu.ts';
import { skipWithout } from '../support/require-tool.ts';

/** apt knows arm64 packages (the arm64 kernel and busybox come through it); with CI=true never a skip. */
export function skipWithoutArm64Apt(): string | false {
  const arches = execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).split('\n');
  return arches.includes('arm64') || process.env.CI === 'true' ? false : 'apt has no arm64 packages (run scripts/setup.sh: dpkg --add-architecture arm64)';
}

export const skipArm64 = skipWithout('qemu-system-aarch64', ['--version'], 'run scripts/setup.sh (qemu-system-arm)') || skipWithoutArm64Apt();

export interface Arm64Set {
  work: string;
  /** The demo root the set was built from (arm64 busybox + kernel modules). */
  root: string;
  out: string;
  cmdline: string;
  rootSha: string;
  kver: string;
  /** Debian's arm64 busybox-static (cached under /var/cache/ramboot/busybox-static/arm64). */
  busybox: string;
  /** Wall seconds of the `ramboot build`. */
  buildSeconds: number;
  options(append: string, more?: Partial<QemuBootOptions>): QemuBootOptions;
  boot(append: string, until: RegExp, more?: Partial<QemuBootOptions>): ReturnType<typeof bootQemu>;
  start(append: string, more?: Partial<QemuBootOptions>): ReturnType<typeof startQemu>;
  cleanup(): void;
}

/** Build an arm64 set from the demo root; `buildArgs` go to `ramboot build`, `init` replaces the marker init. */
export async function buildArm64Set(stamp: string, buildArgs: string[] = [], init?: string): Promise<Arm64Set> {
  const work = mkdtempSync(join(tmpdir(), `ramboot-${stamp}-`));
  const kernel = await fetchDebianKernel('cloud-arm64');
  const { path: busybox } = await aptBusybox('arm64');
  const root = await makeDemoRoot({ dir: join(work, 'root'), kernel, busybox, stamp, ...(init ? { init } : {}) });
  const out = join(work, 'out');
  const started = performance.now();
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'build', '--root', root, '--out', out, ...buildArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const buildSeconds = (performance.now() - started) / 1000;
  const cmdline = readFileSync(join(out, 'cmdline.txt'), 'utf8').trim();
  const rootSha = /^([0-9a-f]{64}) {2}rootfs\.squashfs$/m.exec(readFileSync(join(out, 'SHA256SUMS'), 'utf8'))![1]!;
  const options = (append: string, more: Partial<QemuBootOptions> = {}): QemuBootOptions => ({
    arch: 'aarch64',
    kernel: join(out, 'Image'),
    initrd: join(out, 'initrd.img'),
    append: `${cmdline} console=ttyAMA0 ${append}`.trim(),
    memoryMiB: 1024,
    timeoutMs: 600_000,
    ...more,
  });
  return {
    work,
    root,
    out,
    cmdline,
    rootSha,
    kver: kernel.kver,
    busybox,
    buildSeconds,
    options,
    boot: (append, until, more) => bootQemu({ ...options(append, more), until }),
    start: (append, more) => startQemu(options(append, more)),
    cleanup: () => rmSync(work, { recursive: true, force: true }),
  };
}
