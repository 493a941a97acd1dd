// `ramboot demo`: the whole product in one command. Fetch the current Debian cloud kernel, make
// a small root tree around it, build the image set with the same code as `ramboot build`, serve
// it over HTTP on 127.0.0.1 and boot it in QEMU (TCG), then report how long the guest took to
// reach the real init and what the init saw.
import { join, resolve } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { RambootError } from '../errors.js';
import { fetchDebianKernel } from './debian-kernel.js';
import { buildImageSet, type ImageSetResult } from '../image-set/build-image-set.js';
import { startHttpServer } from './http-server.js';
import { bootQemu } from './qemu.js';
import { makeDemoRoot, parseInitMarkers, type InitMarkers } from './demo-root.js';

export interface DemoOptions {
  outDir: string;
  memoryMiB?: number;
  /** Appended to the image set's cmdline.txt (e.g. zram_size_pct=25). */
  extraCmdline?: string;
  onStep?: (step: string) => void;
}

export interface DemoResult {
  imageSet: ImageSetResult;
  buildSeconds: number;
  markers: InitMarkers;
  bootWallMs: number;
  output: string;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const step = opts.onStep ?? (() => {});
  step('fetching the Debian cloud kernel (apt-get download)');
  const kernel = await fetchDebianKernel('cloud-amd64');
  const work = await mkdtemp(join(tmpdir(), 'ramboot-demo-'));
  try {
    step(`making a demo root with kernel ${kernel.kver}`);
    const root = await makeDemoRoot({ dir: join(work, 'root'), kernel, stamp: 'ramboot demo' });
    const started = performance.now();
    const imageSet = await buildImageSet({ root, outDir: resolve(opts.outDir), onStep: (s) => step(`building ${s}`) });
    const buildSeconds = (performance.now() - started) / 1000;
    const server = await startHttpServer(imageSet.outDir);
    try {
      const append = [imageSet.cmdline, 'console=ttyS0', `rooturl=${server.url('/rootfs.squashfs')}`, opts.extraCmdline ?? '']
        .join(' ')
        .trim();
      step(`booting in QEMU (software emulation): ${append}`);
      const boot = await bootQemu({
        kernel: join(imageSet.outDir, 'vmlinuz'),
        initrd: join(imageSet.outDir, 'initrd.img'),
        append,
        memoryMiB: opts.memoryMiB ?? 1024,
        until: /RAMBOOT-DONE/,
      });
      const markers = parseInitMarkers(boot.output);
      if (!markers.done || markers.pid !== 1) {
        const errorLine = boot.output.split('\n').find((l) => l.includes('ramboot: error:'));
        throw new RambootError(
          'boot',
          `the demo image did not reach its init${errorLine ? `: ${errorLine.trim()}` : boot.timedOut ? ' (QEMU timed out)' : ''}`,
          'run with --verbose to see the guest console',
        );
      }
      return { imageSet, buildSeconds, markers, bootWallMs: boot.wallMs, output: boot.output };
    } finally {
      await server.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
