import { Command } from '@commander-js/extra-typings';
import { buildInitrd } from '../../initrd/build-initrd.js';
import { renderModuleReport, type ModuleReport } from '../../initrd/add-modules.js';
import { measureFileCosts, renderFileCosts } from '../../initrd/file-costs.js';
import { addSettings, initrdOptionsOf, readSettings } from '../../settings/settings-cli.js';
import { checkOutputPath } from '../../util/output-path.js';
import { withRoot } from '../with-root.js';
import { formatBytes } from '../options.js';

export const initrdCommand = addSettings(new Command('initrd').description('build initrd.img alone from a root tree'), 'initrd').action(async (flags) => {
  // Preflight, before a tarball root is unpacked.
  const opts = readSettings('initrd', flags);
  await checkOutputPath(opts.out, 'file', '-o');
  let report: ModuleReport | undefined;
  const result = await withRoot(opts.root, (dir) =>
    buildInitrd({
      root: dir,
      out: opts.out,
      kver: opts.kver,
      ...initrdOptionsOf(opts),
      onModuleReport: (r) => (report = r),
      rootfsSha256: opts.rootsha256,
    }),
  );
  // --explain also says what each file costs, read back from the image just written.
  const costs = opts.explain ? await measureFileCosts(result.path, result.compression, result.level) : undefined;
  if (opts.json) {
    const summary = { path: result.path, size: result.size, sha256: result.sha256, compression: result.compression, kver: result.kver, entries: result.entries };
    process.stdout.write(`${JSON.stringify({ ...summary, modules: result.modules.map((m) => m.info.name), ...(opts.explain ? { explain: report, sizes: costs } : {}) }, null, 2)}\n`);
    return;
  }
  if (opts.explain && report) process.stdout.write(`${renderModuleReport(report, new Map(costs!.map((c) => [c.path, c])))}\n`);
  if (costs) process.stdout.write(`${renderFileCosts(costs, result.compression, result.level, result.size)}\n\n`);
  process.stdout.write(
    `${result.path}: ${formatBytes(result.size)} ${result.compression}, kernel ${result.kver}, ` +
      `${result.modules.length} modules, ${result.entries} entries\n`,
  );
});
