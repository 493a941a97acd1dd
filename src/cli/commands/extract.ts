import { Command, Option } from '@commander-js/extra-typings';
import { extractImage } from '../../extract/extract-image.js';
import { ERROR_CODES, WARNING_CODES, renderWarning } from '../../unpack/problems.js';
import { parseByteSize } from '../options.js';

export const extractCommand = new Command('extract')
  .description('unpack an initrd (any number of segments, any compression), a squashfs image, or a UKI (its sections as files, its initrd under DIR/initrd) into an empty directory, safely')
  .argument('<image>', 'initrd, squashfs image or UKI (ramboot.efi)')
  .argument('<dir>', 'target directory: new or empty')
  .option('--devices', 'create device nodes (as root only; otherwise W-DEVICE-SKIPPED)')
  .option('--keep-setuid', 'keep setuid/setgid bits (as root only; otherwise W-SETUID-DROPPED)')
  .option('--strict', 'treat warnings (W-*) as errors')
  .addOption(new Option('--max-size <size>', 'stop past this much decompressed data').argParser(parseByteSize).default(4 * 1024 ** 3, '4G'))
  .addHelpText('after', () => {
    const rows = (codes: Record<string, string>) => Object.entries(codes).map(([code, what]) => `  ${code.padEnd(20)} ${what}`).join('\n');
    return `\nErrors (always fatal):\n${rows(ERROR_CODES)}\n\nWarnings (fatal with --strict):\n${rows(WARNING_CODES)}\n`;
  })
  .action(async (image, dir, opts) => {
    const result = await extractImage({
      image,
      dir,
      devices: opts.devices,
      keepSetuid: opts.keepSetuid,
      strict: opts.strict,
      maxSize: opts.maxSize,
      onWarning: (w) => process.stderr.write(`ramboot: warning: ${renderWarning(w)}\n`),
    });
    const segments = `${result.segments.length} segment${result.segments.length === 1 ? '' : 's'}`;
    const what = result.kind === 'squashfs' ? 'squashfs image' : result.ukiFiles ? `the UKI's initrd (${segments}) into ${result.dir}/initrd, and ${result.ukiFiles.join(', ')}` : segments;
    const warned = result.warnings.length > 0 ? `, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}` : '';
    process.stdout.write(`${result.dir}: ${result.entries} entries from ${what}${warned}\n`);
  });
