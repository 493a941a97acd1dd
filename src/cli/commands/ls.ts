import { Command, Option } from '@commander-js/extra-typings';
import { listImage, renderListing } from '../../extract/list-image.js';
import { renderWarning } from '../../extract/problems.js';
import { parseByteSize } from '../options.js';

export const lsCommand = new Command('ls')
  .description("list an initrd's segments and entries, or a squashfs image's superblock and entries")
  .argument('<image>', 'initrd or squashfs image')
  .option('--json', 'machine-readable output')
  .option('--modules', 'list only kernel modules (*.ko, *.ko.xz, *.ko.zst) with their sizes')
  .addOption(new Option('--max-size <size>', 'give up after this much decompressed data, e.g. 4G').argParser(parseByteSize))
  .action(async (image, opts) => {
    const listing = await listImage({
      image,
      maxSize: opts.maxSize,
      onWarning: (w) => process.stderr.write(`ramboot: warning: ${renderWarning(w)}\n`),
    });
    process.stdout.write(renderListing(listing, { json: opts.json, modules: opts.modules }));
  });
