// `ramboot config dnsmasq|nginx|ipxe|pxelinux|grub --set DIR --base-url URL`: the boot server's
// configs for an image set, printed or written with -o.
import { writeFile } from 'node:fs/promises';
import { Command, Argument } from '@commander-js/extra-typings';
import { usageError } from '../../errors.js';
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
  .option('--ipv6-range <start,end>', 'dnsmasq: IPv6 router advertisements (SLAAC) and DHCPv6 leases from this range of the interface\'s /64; nginx: listen on [::] too')
  .option('--dns6 <ip>', 'dnsmasq: DNS server given with the DHCPv6 leases')
  .option('--tftp-root <dir>', 'dnsmasq: TFTP directory holding undionly.kpxe and ipxe.efi (default: the set)')
  .option('--access-log <file>', 'nginx: access log path')
  .option('--cache', 'nginx: a caching proxy (proxy_cache, slice, proxy_cache_lock) in front of --origin instead of serving --set')
  .option('--origin <url>', 'nginx --cache: the origin\'s URL of the set, e.g. http://origin.example/sets/a/')
  .option('--cache-dir <dir>', 'nginx --cache: the cache directory (default /var/cache/nginx/ramboot)')
  .option('--cache-size <size>', 'nginx --cache: the cache\'s size cap (default 20g)')
  .option('--slice <size>', 'nginx --cache: the pieces the image is fetched and cached in (default 4m)')
  .option('-o, --out <file>', 'write here instead of standard output')
  .action(async (kind, opts) => {
    if (opts.cache && (kind !== 'nginx' || opts.origin === undefined)) {
      throw usageError(`--cache ${kind !== 'nginx' ? `is for nginx, not ${kind}` : 'needs --origin URL'}`, 'ramboot config nginx --cache --origin http://ORIGIN/set/ --set DIR --base-url http://PROXY/set/');
    }
    const text = await renderSetConfig(kind, {
      setDir: opts.set,
      baseUrl: opts.baseUrl,
      ...(opts.append !== undefined ? { append: opts.append } : {}),
      ...(opts.interface !== undefined ? { interface: opts.interface } : {}),
      ...(opts.dhcpRange !== undefined ? { dhcpRange: opts.dhcpRange } : {}),
      ...(opts.proxy !== undefined ? { proxySubnet: opts.proxy } : {}),
      ...(opts.router !== undefined ? { router: opts.router } : {}),
      ...(opts.dns !== undefined ? { dns: opts.dns } : {}),
      ...(opts.ipv6Range !== undefined ? { ipv6Range: opts.ipv6Range } : {}),
      ...(opts.dns6 !== undefined ? { dns6: opts.dns6 } : {}),
      ...(opts.tftpRoot !== undefined ? { tftpRoot: opts.tftpRoot } : {}),
      ...(opts.accessLog !== undefined ? { accessLog: opts.accessLog } : {}),
      ...(opts.cache && opts.origin !== undefined
        ? { cache: { origin: opts.origin, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}), ...(opts.cacheSize !== undefined ? { maxSize: opts.cacheSize } : {}), ...(opts.slice !== undefined ? { slice: opts.slice } : {}) } }
        : {}),
    });
    if (opts.out) await writeFile(opts.out, text);
    else process.stdout.write(text);
  });
