import { Command, Option } from '@commander-js/extra-typings';
import { writeDiff } from '../../extract/diff-images.js';
import { streamOutput } from '../../extract/output.js';
import { renderWarning } from '../../unpack/problems.js';
import { parseByteSize } from '../options.js';

export const diffCommand = new Command('diff')
  .description('what was added, removed or changed between two initrds (content sha256, type, mode, owner, link target)')
  .argument('<a>', 'the old initrd')
  .argument('<b>', 'the new initrd')
  .option('--json', 'machine-readable output')
  .option('--mtime', 'also report changed mtimes')
  .addOption(new Option('--max-size <size>', 'give up after this much decompressed data per image').argParser(parseByteSize))
  .action(async (a, b, opts) => {
    // Sorted on disk and written while merged: bounded memory for any number of entries.
    await writeDiff(
      { a, b, mtime: opts.mtime, maxSize: opts.maxSize, onWarning: (w) => process.stderr.write(`ramboot: warning: ${renderWarning(w)}\n`) },
      opts.json === true,
      streamOutput(process.stdout),
    );
  });
