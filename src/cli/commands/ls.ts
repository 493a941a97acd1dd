import { Command, Option } from '@commander-js/extra-typings';
import { writeListing } from '../../extract/list-image.js';
import { streamOutput } from '../../extract/output.js';
import { renderWarning } from '../../unpack/problems.js';
import { parseByteSize } from '../options.js';

export const lsCommand = new Command('ls')
  .description("list an initrd's segments and entries, a squashfs image's superblock and entries, or a UKI's sections and its initrd's entries")
  .argument('<image>', 'initrd, squashfs image or UKI (ramboot.efi)')
  .option('--json', 'machine-readable output, streamed; a name that is not UTF-8 also comes as pathBase64')
  .option('--modules', 'list only kernel modules (*.ko, *.ko.xz, *.ko.zst) with their sizes')
  .addOption(new Option('--max-size <size>', 'give up after this much decompressed data, e.g. 4G').argParser(parseByteSize))
  .action(async (image, opts) => {
    // Written while read: any number of entries in bounded memory.
    await writeListing(
      { image, maxSize: opts.maxSize, onWarning: (w) => process.stderr.write(`ramboot: warning: ${renderWarning(w)}\n`) },
      { json: opts.json, modules: opts.modules },
      streamOutput(process.stdout),
    );
  });
