// Netboot configs for an image set, so the command line a fleet boots with comes from the same
// table as everything else instead of being typed into a PXE menu by hand.
export const NETBOOT_FORMATS = ['line', 'ipxe', 'pxelinux', 'grub'] as const;
export type NetbootFormat = (typeof NETBOOT_FORMATS)[number];

export interface NetbootConfigInput {
  cmdline: string;
  /** Where vmlinuz and initrd.img are served from, e.g. http://boot.example/set (ipxe) or a TFTP path. */
  baseUrl: string;
  label?: string;
}

function join(base: string, file: string): string {
  return base === '' ? file : `${base.replace(/\/+$/, '')}/${file}`;
}

export function renderNetbootConfig(format: NetbootFormat, input: NetbootConfigInput): string {
  const label = input.label ?? 'ramboot';
  const kernel = join(input.baseUrl, 'vmlinuz');
  const initrd = join(input.baseUrl, 'initrd.img');
  switch (format) {
    case 'line':
      return `${input.cmdline}\n`;
    // iPXE needs initrd= on the kernel line for EFI boots to find the initrd by name.
    case 'ipxe':
      return `#!ipxe\nkernel ${kernel} initrd=initrd.img ${input.cmdline}\ninitrd ${initrd}\nboot\n`;
    case 'pxelinux':
      return `DEFAULT ${label}\nLABEL ${label}\n  KERNEL ${kernel}\n  INITRD ${initrd}\n  APPEND ${input.cmdline}\n`;
    case 'grub':
      return `menuentry '${label}' {\n  linux ${kernel} ${input.cmdline}\n  initrd ${initrd}\n}\n`;
  }
}
