import { Command } from '@commander-js/extra-typings';
import { buildImageSet } from '../../image-set/build-image-set.js';
import { formatBytes, progressLine, progressWanted } from '../options.js';
import { withRoot } from '../with-root.js';
import { addInitrdOptions } from './initrd.js';
import { addRootfsOptions } from './rootfs.js';

export const buildCommand = addRootfsOptions(
  addInitrdOptions(
    new Command('build')
      .description('build a netboot image set: vmlinuz, initrd.img, rootfs.squashfs, cmdline.txt, SHA256SUMS')
      .requiredOption('--root <path>', 'root tree: a directory or a tarball (.tar, .tar.gz, .tar.zst, .tar.xz), holding /boot/vmlinuz-KVER and /lib/modules/KVER')
      .option('--out <dir>', 'output directory', './out')
      .option('--kernel <file>', 'kernel image to ship instead of the root\'s /boot/vmlinuz-KVER')
      .option('--kver <version>', 'kernel version, when the root has several')
      .option('--rooturl <url>', 'write rooturl= into cmdline.txt (else the boot config adds it)')
      .option('--embed', 'also put rootfs.squashfs inside initrd.img: it boots with no rooturl= and no image server'),
  ),
).action(async (opts) => {
  const result = await withRoot(opts.root, (root) =>
    buildImageSet({
      root,
      outDir: opts.out,
      kernel: opts.kernel,
      kver: opts.kver,
      rooturl: opts.rooturl,
      embed: opts.embed ?? false,
      initrd: { compression: opts.compress, level: opts.compressLevel, add: opts.modules, omit: opts.omitModules, busybox: opts.busybox, hostOnly: opts.hostOnly },
      rootfs: { compression: opts.squashfsComp, level: opts.squashfsLevel, blockSize: opts.blockSize, excludeFiles: opts.excludeFile, progress: progressWanted() },
      onStep: (step) => progressLine(`building ${step}`),
    }),
  );
  const lines = Object.entries(result.files).map(([name, f]) => `  ${name.padEnd(16)} ${formatBytes(f.size).padStart(10)}  ${f.sha256.slice(0, 16)}`);
  process.stdout.write(
    `image set for kernel ${result.kver} in ${result.outDir}:\n${lines.join('\n')}\n` +
      `  ${result.initrd.modules.length} modules packed; cmdline: ${result.cmdline}\n`,
  );
});
