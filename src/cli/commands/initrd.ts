import { Command, Option, type OptionValues } from '@commander-js/extra-typings';
import { buildInitrd } from '../../initrd/build-initrd.js';
import { renderModuleReport, type ModuleReport } from '../../initrd/add-modules.js';
import { withRoot } from '../with-root.js';
import { formatBytes, parseCompressionOption, parseInteger, parseList } from '../options.js';

export function addInitrdOptions<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(command: Command<Args, Opts, Globals>) {
  return command
    .addOption(new Option('--compress <codec>', 'initrd compression: zstd, gzip, xz, lz4 or none').argParser(parseCompressionOption))
    .addOption(new Option('--compress-level <n>', 'compression level (default: zstd 9, gzip 9, xz 6, lz4 9)').argParser(parseInteger))
    .addOption(new Option('--modules <list>', 'extra modules: names, aliases or directory prefixes, comma-separated').argParser(parseList))
    .addOption(new Option('--omit-modules <list>', 'modules never packed, comma-separated').argParser(parseList))
    .addOption(new Option('--busybox <file>', 'static busybox to use instead of the root\'s or this machine\'s'))
    .addOption(new Option('--host-only', 'pack only the device drivers this machine\'s devices (/sys/bus/*/devices/*/modalias) match, plus the force-loads'));
}

export const initrdCommand = addInitrdOptions(
  new Command('initrd')
    .description('build initrd.img alone from a root tree')
    .requiredOption('--root <path>', 'root tree: a directory or a tarball (.tar, .tar.gz, .tar.zst, .tar.xz), holding /boot/vmlinuz-KVER and /lib/modules/KVER')
    .requiredOption('-o, --out <file>', 'output file')
    .option('--kver <version>', 'kernel version, when the root has several')
    .option('--rootsha256 <hex>', 'bake this rootfs sha256 into the initrd as the rootsha256= default')
    .option('--explain', 'print every packed module with why it is in and its firmware, and the built-in modules that satisfied a request')
    .option('--json', 'print the result (and with --explain the module report) as JSON'),
).action(async (opts) => {
  let report: ModuleReport | undefined;
  const result = await withRoot(opts.root, (dir) =>
    buildInitrd({
      root: dir,
      out: opts.out,
      kver: opts.kver,
      compression: opts.compress,
      level: opts.compressLevel,
      add: opts.modules,
      omit: opts.omitModules,
      hostOnly: opts.hostOnly,
      onModuleReport: (r) => (report = r),
      busybox: opts.busybox,
      rootfsSha256: opts.rootsha256,
    }),
  );
  if (opts.json) {
    const summary = { path: result.path, size: result.size, sha256: result.sha256, compression: result.compression, kver: result.kver, entries: result.entries };
    process.stdout.write(`${JSON.stringify({ ...summary, modules: result.modules.map((m) => m.info.name), ...(opts.explain ? { explain: report } : {}) }, null, 2)}\n`);
    return;
  }
  if (opts.explain && report) process.stdout.write(`${renderModuleReport(report)}\n`);
  process.stdout.write(
    `${result.path}: ${formatBytes(result.size)} ${result.compression}, kernel ${result.kver}, ` +
      `${result.modules.length} modules, ${result.entries} entries\n`,
  );
});
