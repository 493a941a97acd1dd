// Netboot configs for an image set, so the command line a fleet boots with comes from the same
// table as everything else instead of being typed into a PXE menu by hand. Each config carries the
// words so the kernel receives them unchanged (loader-quoting.ts) within the size the kernel
// keeps (loader-line.ts), or is refused with the word or the size that does not fit.
import { usageError } from '../errors.js';
import { checkLineLength, loaderFiles, PXELINUX_MAX_LINE, type NetbootFormat } from './loader-line.js';
import { renderLoaderArgs } from './loader-quoting.js';

export { NETBOOT_FORMATS, type NetbootFormat } from './loader-line.js';

export interface NetbootConfigInput {
  cmdline: string;
  /** Where vmlinuz and initrd.img are served from, e.g. http://boot.example/set (ipxe) or a TFTP path. */
  baseUrl: string;
  label?: string;
}

const HINT = 'change or drop that word, or pick another --format';

export function renderNetbootConfig(format: NetbootFormat, input: NetbootConfigInput): string {
  const label = input.label ?? 'ramboot';
  const { kernel, initrd } = loaderFiles(format, input.baseUrl);
  const args = renderLoaderArgs(format, input.cmdline);
  if (args.problems.length > 0) throw usageError(args.problems[0]!, HINT);
  const tooLong = checkLineLength(format, args.kernel, input.baseUrl);
  if (tooLong) throw usageError(`${format}: ${tooLong.message}`, 'shorten the command line (fewer or shorter words, a shorter --base-url)');
  switch (format) {
    case 'line':
      return `${args.config}\n`;
    // iPXE needs initrd= on the kernel line for EFI boots to find the initrd by name.
    case 'ipxe':
      return `#!ipxe\nkernel ${kernel} initrd=initrd.img ${args.config}\ninitrd ${initrd}\nboot\n`;
    case 'pxelinux': {
      const append = `  APPEND ${args.config}`;
      if (Buffer.byteLength(append) >= PXELINUX_MAX_LINE) {
        throw usageError(`PXELINUX reads config lines of at most ${PXELINUX_MAX_LINE - 1} bytes; the APPEND line would be ${Buffer.byteLength(append)}`, 'shorten the command line');
      }
      return `DEFAULT ${label}\nLABEL ${label}\n  KERNEL ${kernel}\n  INITRD ${initrd}\n${append}\n`;
    }
    case 'grub':
      return `menuentry '${label.replaceAll("'", '')}' {\n  linux ${kernel} ${args.config}\n  initrd ${initrd}\n}\n`;
  }
}
