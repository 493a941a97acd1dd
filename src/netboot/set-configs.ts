// The configs of `ramboot config` for one image set: what a boot server needs to serve the set
// at --base-url. `ramboot lab` writes the same files with the same function and starts dnsmasq
// and nginx on them unchanged, so the files a user copies are the files the boot tests ran.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { lintCmdline } from '../cmdline/lint.js';
import { mergeCmdline } from '../cmdline/merge.js';
import { parseCmdline } from '../cmdline/parse.js';
import { renderNetbootConfig } from '../cmdline/netboot-config.js';
import { inputError, usageError } from '../errors.js';
import { renderDnsmasqConfig } from './dnsmasq-config.js';
import { parseHttpBaseUrl, renderNginxConfig } from './nginx-config.js';
import { renderNginxCacheConfig, type NginxCacheConfigInput } from './nginx-cache-config.js';

export const CONFIG_KINDS = ['dnsmasq', 'nginx', 'ipxe', 'pxelinux', 'grub'] as const;
export type ConfigKind = (typeof CONFIG_KINDS)[number];

/** The file name each config is written as by `ramboot config --out-dir` and the lab. */
export const CONFIG_FILES: Record<ConfigKind, string> = {
  dnsmasq: 'dnsmasq.conf',
  nginx: 'nginx-ramboot.conf',
  ipxe: 'boot.ipxe',
  pxelinux: 'pxelinux.cfg-default',
  grub: 'grub.cfg',
};

export interface SetConfigOptions {
  /** The image set directory (ramboot build --out). */
  setDir: string;
  /** URL the set is served at; the iPXE script is expected at <base-url>/boot.ipxe. */
  baseUrl: string;
  /** Extra kernel command line words over the set's cmdline.txt. */
  append?: string;
  /** Directory nginx serves at the base URL; default the set directory. */
  webRoot?: string;
  interface?: string;
  dhcpRange?: string;
  proxySubnet?: string;
  router?: string;
  dns?: string;
  tftpRoot?: string;
  accessLog?: string;
  dnsmasqLog?: string;
  /** dnsmasq: IPv6 router advertisements and DHCPv6 for this START,END range; nginx: listen on [::] too. */
  ipv6Range?: string;
  /** dnsmasq: DHCPv6 leases only, no SLAAC (see DnsmasqConfigInput.dhcp6Only). */
  dhcp6Only?: boolean;
  dns6?: string;
  /** nginx: a caching proxy in front of this origin instead of serving the set's files. */
  cache?: Pick<NginxCacheConfigInput, 'origin' | 'cacheDir' | 'maxSize' | 'slice' | 'originTimeout'>;
}

/** The set's cmdline.txt, the appended words, and rooturl=<base-url>/rootfs.squashfs unless given. */
export async function readSetCmdline(opts: Pick<SetConfigOptions, 'setDir' | 'baseUrl' | 'append'>): Promise<string> {
  const path = join(opts.setDir, 'cmdline.txt');
  const text = await readFile(path, 'utf8').catch(() => {
    throw inputError(`cannot read ${path}`, 'give --set the directory ramboot build wrote');
  });
  const base = mergeCmdline(text.trim(), opts.append ? [opts.append] : []);
  const rooturl = parseCmdline(base).values.rooturl;
  const cmdline = rooturl ? base : mergeCmdline(base, [`rooturl=${baseDir(opts.baseUrl)}rootfs.squashfs`]);
  const errors = lintCmdline(cmdline).filter((f) => f.level === 'error');
  if (errors.length > 0) throw usageError(errors[0]!.message, 'fix the set\'s cmdline.txt or --append; ramboot cmdline lint shows every problem');
  return cmdline;
}

const baseDir = (url: string) => (url.endsWith('/') ? url : `${url}/`);

export async function renderSetConfig(kind: ConfigKind, opts: SetConfigOptions): Promise<string> {
  switch (kind) {
    case 'nginx':
      if (opts.cache) return renderNginxCacheConfig({ ...opts.cache, baseUrl: opts.baseUrl, ...(opts.accessLog ? { accessLog: opts.accessLog } : {}) });
      return renderNginxConfig({ root: resolve(opts.webRoot ?? opts.setDir), baseUrl: opts.baseUrl, ...(opts.accessLog ? { accessLog: opts.accessLog } : {}), ...(opts.ipv6Range ? { ipv6: true } : {}) });
    case 'dnsmasq': {
      parseHttpBaseUrl(opts.baseUrl);
      return renderDnsmasqConfig({
        scriptUrl: `${baseDir(opts.baseUrl)}boot.ipxe`,
        tftpRoot: resolve(opts.tftpRoot ?? opts.setDir),
        ...pick(opts, ['interface', 'dhcpRange', 'proxySubnet', 'router', 'dns', 'ipv6Range', 'dhcp6Only', 'dns6']),
        ...(opts.dnsmasqLog ? { logFile: opts.dnsmasqLog } : {}),
        // A set built with --uki also boots by UEFI HTTP Boot, straight from the base URL.
        ...(existsSync(join(opts.setDir, 'ramboot.efi')) ? { httpBootUrl: `${baseDir(opts.baseUrl)}ramboot.efi` } : {}),
      });
    }
    case 'ipxe':
    case 'pxelinux':
    case 'grub': {
      const cmdline = await readSetCmdline(opts);
      return renderNetbootConfig(kind, { cmdline, baseUrl: baseDir(opts.baseUrl).replace(/\/$/, ''), bootif: true });
    }
  }
}

function pick<T extends object, K extends keyof T>(obj: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (obj[key] !== undefined) out[key] = obj[key];
  return out;
}
