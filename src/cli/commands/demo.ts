import { Command, Option } from '@commander-js/extra-typings';
import { runDemo } from '../../lab/run-demo.js';
import { formatBytes, parseInteger, progressLine } from '../options.js';

export const demoCommand = new Command('demo')
  .description('build a demo image set from a small root and a Debian cloud kernel, boot it in QEMU, report the time to the real init')
  .option('--out <dir>', 'where the demo image set goes', './out/demo')
  .addOption(new Option('--memory <MiB>', 'guest RAM').argParser(parseInteger).default(1024))
  .option('--append <words>', 'extra kernel command line words, e.g. zram_size_pct=25')
  .option('--verbose', 'print the guest console')
  .action(async (opts) => {
    const result = await runDemo({
      outDir: opts.out,
      memoryMiB: opts.memory,
      extraCmdline: opts.append,
      onStep: (s) => progressLine(s),
    });
    if (opts.verbose) process.stdout.write(result.output);
    const m = result.markers;
    const zram = m.swaps.find((s) => s.name.includes('zram'));
    const files = result.imageSet.files;
    process.stdout.write(
      [
        `ramboot demo: kernel ${result.imageSet.kver}, image set in ${result.imageSet.outDir} (built in ${result.buildSeconds.toFixed(1)} s)`,
        `  initrd.img ${formatBytes(files['initrd.img'].size)}, rootfs.squashfs ${formatBytes(files['rootfs.squashfs'].size)}`,
        `  real init reached as PID ${m.pid} at guest uptime ${m.uptime?.toFixed(2)} s (QEMU wall time ${(result.bootWallMs / 1000).toFixed(1)} s, software emulation)`,
        `  / is ${m.root?.type} over squashfs ${m.squashfs.map((s) => s.mnt).join(', ') || '(none)'}, writable: ${m.writable ? 'yes' : 'no'}`,
        `  swap: ${zram ? `${zram.name} ${formatBytes(zram.sizeKiB * 1024)} of ${formatBytes((m.memTotalKiB ?? 0) * 1024)} RAM` : 'none'}`,
      ].join('\n') + '\n',
    );
  });
