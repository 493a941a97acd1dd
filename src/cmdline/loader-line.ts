// The command line a kernel really receives from each boot loader, and the one size limit it has.
//
// x86 and arm64 keep COMMAND_LINE_SIZE = 2048 bytes including the terminating NUL: the x86 boot
// header announces cmdline_size = COMMAND_LINE_SIZE - 1 (arch/x86/boot/header.S) and setup_arch()
// copies with strscpy(..., COMMAND_LINE_SIZE); arm64 copies /chosen/bootargs the same way
// (early_init_dt_scan_chosen). So 2047 bytes reach the kernel and the rest is cut off silently.
// What counts is what the loader builds, not what the config says:
//  - PXELINUX: "BOOT_IMAGE=<KERNEL> <APPEND> initrd=<INITRD>" (syslinux ldlinux: the label's
//    cmdline gets " initrd=" appended in readconfig.c record(), then "BOOT_IMAGE=%s %s");
//  - GRUB: "BOOT_IMAGE=<path as given to linux> <args>" (grub-core/loader/i386/linux.c, LINUX_IMAGE);
//  - iPXE: the kernel line's arguments as written, here "initrd=initrd.img <cmdline>".
import type { LintFinding } from './lint.js';
import { usageError } from '../errors.js';

export const NETBOOT_FORMATS = ['line', 'ipxe', 'pxelinux', 'grub'] as const;
export type NetbootFormat = (typeof NETBOOT_FORMATS)[number];

export const COMMAND_LINE_SIZE = 2048;
/** Bytes of command line the kernel keeps: the buffer less its NUL. */
export const MAX_CMDLINE_BYTES = COMMAND_LINE_SIZE - 1;
/** syslinux reads its config with fgets() into a buffer of this size: a longer line breaks. */
export const PXELINUX_MAX_LINE = 2048;

export interface LoaderFiles {
  kernel: string;
  initrd: string;
}

function joinPath(base: string, file: string): string {
  return base === '' ? file : `${base.replace(/\/+$/, '')}/${file}`;
}

/** GRUB names a network file (proto,server)/path; it speaks http and tftp, not https. */
function grubPath(base: string): string {
  const url = /^([a-z]+):\/\/([^/]+)(\/.*)?$/i.exec(base);
  if (!url) return base;
  const [, scheme, server, path = ''] = url;
  if (!/^(http|tftp)$/i.test(scheme!)) throw usageError(`GRUB cannot fetch ${base}: it speaks http:// and tftp://`, 'give --base-url an http:// or tftp:// URL, or a path GRUB can read');
  return `(${scheme!.toLowerCase()},${server})${path}`;
}

/** Where the config tells the loader to find vmlinuz and initrd.img. */
export function loaderFiles(format: NetbootFormat, baseUrl: string): LoaderFiles {
  const base = format === 'grub' ? grubPath(baseUrl) : baseUrl;
  return { kernel: joinPath(base, 'vmlinuz'), initrd: joinPath(base, 'initrd.img') };
}

/** The command line the kernel receives when the loader is given `args` (as it passes them on). */
export function kernelLineFor(format: NetbootFormat, args: string, baseUrl: string): string {
  const files = loaderFiles(format, baseUrl);
  switch (format) {
    case 'line':
      return args;
    case 'ipxe':
      return `initrd=initrd.img ${args}`;
    case 'pxelinux':
      return `BOOT_IMAGE=${files.kernel} ${args} initrd=${files.initrd}`;
    case 'grub':
      return `BOOT_IMAGE=${files.kernel} ${args}`;
  }
}

export function checkLineLength(format: NetbootFormat, args: string, baseUrl: string): LintFinding | undefined {
  const line = kernelLineFor(format, args, baseUrl);
  const bytes = Buffer.byteLength(line, 'utf8');
  if (bytes <= MAX_CMDLINE_BYTES) return undefined;
  const added = { line: '', ipxe: ', counting the initrd= iPXE passes', pxelinux: ', counting the BOOT_IMAGE= and initrd= PXELINUX adds', grub: ', counting the BOOT_IMAGE= GRUB prepends' }[format];
  return {
    level: 'error',
    code: 'too-long',
    message: `the kernel would receive ${bytes} bytes of command line${added}; it keeps ${MAX_CMDLINE_BYTES} (COMMAND_LINE_SIZE ${COMMAND_LINE_SIZE} with its NUL) and cuts the rest off silently`,
  };
}
