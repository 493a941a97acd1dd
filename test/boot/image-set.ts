// Shared by the ram script's boot tests (sources, memory, debug): build one image set with the
// CLI from the demo root around Debian's current cloud kernel, and boot it in QEMU (TCG) with the
// set's own cmdline.txt. With CI=true a missing QEMU fails the run instead of skipping it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel } from '../../src/lab/debian-kernel.ts';
import { makeDemoRoot } from '../../src/lab/demo-root.ts';
import { bootQemu, startQemu, type QemuBootOptions } from '../../src/lab/qemu.ts';
import { skipWithoutQemu } from '../support/require-tool.ts';

export const skip = skipWithoutQemu();

export interface BuiltSet {
  work: string;
  out: string;
  cmdline: string;
  /** The set's rootfs sha256 (as in SHA256SUMS). */
  rootSha: string;
  options(append: string, more?: Partial<QemuBootOptions>): QemuBootOptions;
  boot(append: string, until: RegExp, more?: Partial<QemuBootOptions>): ReturnType<typeof bootQemu>;
  start(append: string, more?: Partial<QemuBootOptions>): ReturnType<typeof startQemu>;
  cleanup(): void;
}

/** Build a set from the demo root; `init` replaces the marker init; `buildArgs` go to `ramboot build` (e.g. --hook bonding). */
export async function buildSet(stamp: string, init?: string, buildArgs: string[] = []): Promise<BuiltSet> {
  const work = mkdtempSync(join(tmpdir(), `ramboot-${stamp}-`));
  const kernel = await fetchDebianKernel('cloud-amd64');
  const root = await makeDemoRoot({ dir: join(work, 'root'), kernel, stamp, ...(init ? { init } : {}) });
  const out = join(work, 'out');
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'build', '--root', root, '--out', out, ...buildArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const cmdline = readFileSync(join(out, 'cmdline.txt'), 'utf8').trim();
  const rootSha = /^([0-9a-f]{64}) {2}rootfs\.squashfs$/m.exec(readFileSync(join(out, 'SHA256SUMS'), 'utf8'))![1]!;
  const options = (append: string, more: Partial<QemuBootOptions> = {}): QemuBootOptions => ({
    kernel: join(out, 'vmlinuz'),
    initrd: join(out, 'initrd.img'),
    append: `${cmdline} console=ttyS0 ${append}`.trim(),
    memoryMiB: 1024,
    timeoutMs: 120_000,
    ...more,
  });
  return {
    work,
    out,
    cmdline,
    rootSha,
    options,
    boot: (append, until, more) => bootQemu({ ...options(append, more), until }),
    start: (append, more) => startQemu(options(append, more)),
    cleanup: () => rmSync(work, { recursive: true, force: true }),
  };
}

/** report.json as a test init printed it on the console (`RAMBOOT-REPORT {...}`). */
export function consoleReport(output: string): Record<string, any> {
  const line = /^RAMBOOT-REPORT (.*)$/m.exec(output);
  assert.ok(line, `no report:\n${output.slice(-3000)}`);
  return JSON.parse(line[1]!);
}
