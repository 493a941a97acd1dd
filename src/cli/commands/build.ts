import { Command } from '@commander-js/extra-typings';
import { buildImageSet } from '../../image-set/build-image-set.js';
import { addSettings, initrdOptionsOf, readSettings, rootfsOptionsOf } from '../../settings/settings-cli.js';
import { checkOutputPath } from '../../util/output-path.js';
import { formatBytes, progressLine, progressWanted } from '../options.js';
import { withRoot } from '../with-root.js';

export const buildCommand = addSettings(
  new Command('build').description('build a netboot image set: vmlinuz, initrd.img, rootfs.squashfs, cmdline.txt, SHA256SUMS'),
  'build',
).action(async (flags) => {
  // Preflight, before a tarball root is unpacked: every flag's check, then the output directory.
  const s = readSettings('build', flags);
  await checkOutputPath(s.out, 'dir', '--out');
  const result = await withRoot(s.root, (root) =>
    buildImageSet({
      root,
      outDir: s.out,
      kernel: s.kernel,
      kver: s.kver,
      rooturl: s.rooturl,
      embed: s.embed ?? false,
      ...(s.uki ? { uki: { stub: s.ukiStub, append: s.ukiAppend, signKey: s.signKey, signCert: s.signCert } } : {}),
      initrd: initrdOptionsOf(s),
      rootfs: { ...rootfsOptionsOf(s), progress: progressWanted() },
      onStep: (step) => progressLine(`building ${step}`),
    }),
  );
  const lines = Object.entries(result.files).map(([name, f]) => `  ${name.padEnd(16)} ${formatBytes(f.size).padStart(10)}  ${f.sha256.slice(0, 16)}`);
  process.stdout.write(
    `image set for kernel ${result.kver} in ${result.outDir}:\n${lines.join('\n')}\n` +
      `  ${result.initrd.modules.length} modules packed; cmdline: ${result.cmdline}\n`,
  );
});
