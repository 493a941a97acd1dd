// `ramboot lab --firmware uefi-http`: the guest's own UEFI firmware (OVMF) boots the set's
// ramboot.efi by UEFI HTTP Boot: its DHCP request says "HTTPClient", dnsmasq answers with the
// URL of ramboot.efi on the lab's nginx (the HTTP Boot stanza `ramboot config dnsmasq` writes for
// a set with a UKI), and the firmware GETs it and starts it. No iPXE, no TFTP, no boot.ipxe: the
// kernel command line is the UKI's own .cmdline, fixed when the set was built, so the lab's
// options that work by adding kernel words cannot apply, and the lab reads the guest only on its
// serial port, which the kernel writes to only if .cmdline says console=ttyS0.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inputError, usageError } from '../../errors.js';
import { parsePe, sectionData } from '../../uki/pe-file.js';

export interface HttpBootChecks {
  setDir: string;
  append?: string;
  ipv6?: boolean | string;
  proxy?: boolean;
  bond?: boolean;
  vlan?: number;
}

/** Refuse what cannot work with HTTP Boot; return the UKI's command line. */
export function checkHttpBootSet(opts: HttpBootChecks): string {
  const words = (['append', 'ipv6', 'proxy', 'bond', 'vlan'] as const).filter((k) => opts[k] !== undefined && opts[k] !== false);
  if (words.length > 0) {
    throw usageError(`--firmware uefi-http boots the UKI with its own .cmdline, so --${words[0]} cannot reach the kernel`, 'build the set with --uki-append WORDS instead, or use --firmware uefi (iPXE)');
  }
  const path = join(opts.setDir, 'ramboot.efi');
  let efi: Buffer;
  try {
    efi = readFileSync(path);
  } catch {
    throw inputError(`${opts.setDir} has no ramboot.efi`, 'build the set with --uki');
  }
  const section = parsePe(efi, path).sections.find((s) => s.name === '.cmdline');
  const cmdline = section ? sectionData(efi, section).toString('utf8').replace(/\0+$/, '').trim() : '';
  if (!/(^|\s)console=ttyS0(\s|,|$)/.test(cmdline)) {
    throw inputError(`${path}'s command line has no console=ttyS0, so the lab would see nothing of the boot`, 'rebuild the set with --uki --uki-append console=ttyS0');
  }
  return cmdline;
}
