// `ramboot config dnsmasq|nginx|ipxe|pxelinux|grub --set DIR --base-url URL`: the boot server's
// configs for an image set, printed or written with -o.
import { writeFile } from 'node:fs/promises';
import { Command, Argument } from '@commander-js/extra-typings';
import { CONFIG_KINDS, renderSetConfig } from '../../netboot/set-configs.js';

export const configCommand = new Command('config')
  .description('write a boot server config for an image set: dnsmasq (DHCP+TFTP, iPXE chainloading), nginx, or the iPXE/PXELINUX/GRUB entry')
  .addArgument(new Argument('<kind>', 'which config').choices(CONFIG_KINDS))
  .requiredOption('--set <dir>', 'the image set directory (ramboot build --out)')
  .requiredOption('--base-url <url>', 'where the set is served, e.g. http://10.0.0.1/set/ (the iPXE script is <url>/boot.ipxe)')
  .option('--append <words>', 'extra kernel command line words over the set\'s cmdline.txt')
  .option('--interface <name>', 'dnsmasq: serve DHCP on this interface only')
  .option('--dhcp-range <start,end>', 'dnsmasq: hand out leases from this range')
  .option('--proxy <subnet>', 'dnsmasq: proxy-DHCP next to the site\'s DHCP server on this subnet (e.g. 10.0.0.0)')
  .option('--router <ip>', 'dnsmasq: router given with the leases')
  .option('--dns <ip>', 'dnsmasq: DNS server given with the leases')
  .option('--tftp-root <dir>', 'dnsmasq: TFTP directory holding undionly.kpxe and ipxe.efi (default: the set)')
  .option('--access-log <file>', 'nginx: access log path')
  .option('-o, --out <file>', 'write here instead of standard output')
  .action(async (kind, opts) => {
    const text = await renderSetConfig(kind, {
      setDir: opts.set,
      baseUrl: opts.baseUrl,
      ...(opts.append !== undefined ? { append: opts.append } : {}),
      ...(opts.interface !== undefined ? { interface: opts.interface } : {}),
      ...(opts.dhcpRange !== undefined ? { dhcpRange: opts.dhcpRange } : {}),
      ...(opts.proxy !== undefined ? { proxySubnet: opts.proxy } : {}),
      ...(opts.router !== undefined ? { router: opts.router } : {}),
      ...(opts.dns !== undefined ? { dns: opts.dns } : {}),
      ...(opts.tftpRoot !== undefined ? { tftpRoot: opts.tftpRoot } : {}),
      ...(opts.accessLog !== undefined ? { accessLog: opts.accessLog } : {}),
    });
    if (opts.out) await writeFile(opts.out, text);
    else process.stdout.write(text);
  });
