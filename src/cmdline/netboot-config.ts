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
  /** Have the loader name the NIC it booted from as BOOTIF= (iPXE: ${netX/mac}; PXELINUX: IPAPPEND 2),
   * so the ram script runs DHCP on that NIC only. GRUB has no such word and ignores it. */
  bootif?: boolean;
}

// iPXE's netX is the last network device opened, the one it booted through (ipxe.org/cfg/netX);
// :hexhyp renders the MAC as aa-bb-cc-dd-ee-ff, and the 01- prefix (ARP type Ethernet) completes
// PXELINUX's BOOTIF form, which the ram script parses.
const IPXE_BOOTIF = 'BOOTIF=01-${netX/mac:hexhyp}';
/** As long as what iPXE expands IPXE_BOOTIF to, for the size check. */
const BOOTIF_EXPANDED = 'BOOTIF=01-aa-bb-cc-dd-ee-ff';

const HINT = 'change or drop that word, or pick another --format';

export function renderNetbootConfig(format: NetbootFormat, input: NetbootConfigInput): string {
  const label = input.label ?? 'ramboot';
  const { kernel, initrd } = loaderFiles(format, input.baseUrl);
  const args = renderLoaderArgs(format, input.cmdline);
  if (args.problems.length > 0) throw usageError(args.problems[0]!, HINT);
  const bootif = input.bootif === true && format !== 'grub' && format !== 'line';
  const tooLong = checkLineLength(format, bootif ? `${args.kernel} ${BOOTIF_EXPANDED}` : args.kernel, input.baseUrl);
  if (tooLong) throw usageError(`${format}: ${tooLong.message}`, 'shorten the command line (fewer or shorter words, a shorter --base-url)');
  switch (format) {
    case 'line':
      return `${args.config}\n`;
    // iPXE needs initrd= on the kernel line for EFI boots to find the initrd by name.
    case 'ipxe':
      return `#!ipxe\nkernel ${kernel} initrd=initrd.img ${args.config}${bootif ? ` ${IPXE_BOOTIF}` : ''}\ninitrd ${initrd}\nboot\n`;
    case 'pxelinux': {
      const append = `  APPEND ${args.config}`;
      if (Buffer.byteLength(append) >= PXELINUX_MAX_LINE) {
        throw usageError(`PXELINUX reads config lines of at most ${PXELINUX_MAX_LINE - 1} bytes; the APPEND line would be ${Buffer.byteLength(append)}`, 'shorten the command line');
      }
      // IPAPPEND 2 appends BOOTIF=01-<MAC of the boot NIC> (syslinux doc/pxelinux.txt).
      return `DEFAULT ${label}\nLABEL ${label}\n  KERNEL ${kernel}\n  INITRD ${initrd}\n${append}\n${bootif ? '  IPAPPEND 2\n' : ''}`;
    }
    case 'grub':
      return `menuentry '${label.replaceAll("'", '')}' {\n  linux ${kernel} ${args.config}\n  initrd ${initrd}\n}\n`;
  }
}
