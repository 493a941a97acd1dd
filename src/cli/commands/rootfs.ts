import { Command } from '@commander-js/extra-typings';
import { buildRootfs } from '../../rootfs/build-rootfs.js';
import { addSettings, readSettings, rootfsOptionsOf } from '../../settings/settings-cli.js';
import { checkOutputPath } from '../../util/output-path.js';
import { formatBytes, progressWanted } from '../options.js';
import { withRoot } from '../with-root.js';

export const rootfsCommand = addSettings(new Command('rootfs').description('build rootfs.squashfs alone from a root tree'), 'rootfs').action(async (flags) => {
  // Preflight, before a tarball root is unpacked.
  const s = readSettings('rootfs', flags);
  await checkOutputPath(s.out, 'file', '-o');
  const result = await withRoot(s.root, (dir) => buildRootfs({ ...rootfsOptionsOf(s), root: dir, out: s.out, progress: progressWanted() }));
  process.stdout.write(`${result.path}: ${formatBytes(result.size)} in ${result.seconds.toFixed(1)} s, sha256 ${result.sha256}\n`);
});
