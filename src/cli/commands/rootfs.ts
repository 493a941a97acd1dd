import { Command, Option, type OptionValues } from '@commander-js/extra-typings';
import { buildRootfs } from '../../rootfs/build-rootfs.js';
import { withRoot } from '../with-root.js';
import { formatBytes, parseByteSize, parseInteger, parseList, progressWanted } from '../options.js';

export function addRootfsOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(command: Command<Args, Opts, Globals>) {
  return command
    .addOption(new Option('--squashfs-comp <codec>', 'squashfs compression').choices(['zstd', 'xz', 'gzip', 'lz4'] as const))
    .addOption(new Option('--squashfs-level <n>', 'squashfs compression level').argParser(parseInteger))
    .addOption(new Option('--block-size <size>', 'squashfs block size, e.g. 128K or 1M').argParser(parseByteSize))
    .addOption(new Option('--exclude-file <file>', 'extra exclude list (same format as rootfs-excludes/), repeatable').argParser(parseList));
}

export const rootfsCommand = addRootfsOptions(
  new Command('rootfs')
    .description('build rootfs.squashfs alone from a root tree')
    .requiredOption('--root <path>', 'root tree: a directory or a tarball (.tar, .tar.gz, .tar.zst, .tar.xz)')
    .requiredOption('-o, --out <file>', 'output file'),
).action(async (opts) => {
  const result = await withRoot(opts.root, (dir) =>
    buildRootfs({
      root: dir,
      out: opts.out,
      compression: opts.squashfsComp,
      level: opts.squashfsLevel,
      blockSize: opts.blockSize,
      excludeFiles: opts.excludeFile,
      progress: progressWanted(),
    }),
  );
  process.stdout.write(`${result.path}: ${formatBytes(result.size)} in ${result.seconds.toFixed(1)} s, sha256 ${result.sha256}\n`);
});
