// `ramboot lab --set DIR`: boot an image set through the real netboot chain (firmware PXE,
// dnsmasq, iPXE, nginx) in a network namespace of its own; see src/lab/pxe-lab/run-lab.ts.
// Ctrl-C, SIGTERM, an error or the end of the run remove the namespace and every process.
import { Command, Option } from '@commander-js/extra-typings';
import { RambootError } from '../../errors.js';
import { startLab, type Lab } from '../../lab/pxe-lab/run-lab.js';
import { parseInteger } from '../options.js';

/** Console text prefixed with the guest's name at the start of every line. */
function prefixer(): (guest: string, text: string) => void {
  const atLineStart = new Map<string, boolean>();
  return (guest, text) => {
    let out = '';
    for (const ch of text.split(/(?<=\n)/)) {
      if (atLineStart.get(guest) !== false) out += `[${guest}] `;
      out += ch;
      atLineStart.set(guest, ch.endsWith('\n'));
    }
    process.stdout.write(out);
  };
}

export const labCommand = new Command('lab')
  .description('boot an image set through firmware PXE, dnsmasq, iPXE and nginx in a private network namespace (needs root)')
  .requiredOption('--set <dir>', 'the image set directory (ramboot build --out)')
  .addOption(new Option('--clients <n>', 'guests booted at once').argParser(parseInteger).default(1))
  .addOption(new Option('--firmware <kind>', 'guest firmware: bios (SeaBIOS) or uefi (OVMF), where the NIC\'s iPXE ROM boots; uefi-http: OVMF\'s own UEFI HTTP Boot loads the set\'s ramboot.efi (build --uki --uki-append console=ttyS0)').choices(['bios', 'uefi', 'uefi-http'] as const).default('bios' as const))
  .option('--append <words>', 'extra kernel command line words, written into boot.ipxe')
  .addOption(new Option('--ipv6 [mode]', 'IPv6 too: router advertisements (SLAAC) and DHCPv6 for fd77::/64, nginx on [::], a DNS server with boot6.lab (AAAA only); guests boot with ip=dhcp,auto6 rooturl=http://boot6.lab/rootfs.squashfs. --ipv6 dhcp6: DHCPv6 leases only (no SLAAC), guests boot with ip=dhcp6 (build the set with --busybox naming a busybox with udhcpc6)').choices(['dual', 'dhcp6'] as const))
  .option('--proxy', 'a forward proxy (tinyproxy) on 10.77.0.1:3128 and the set at 10.77.1.1, which guests reach only through it; guests boot with proxy=http://10.77.0.1:3128 rooturl=http://10.77.1.1/rootfs.squashfs')
  .option('--origin-cert <pem>', 'with --proxy: the origin serves https:// with this certificate (for IP:10.77.1.1) and guests boot with rooturl=https://10.77.1.1/rootfs.squashfs, fetched through the proxy by CONNECT (build the set with --hook curl from a root that trusts the certificate\'s CA)')
  .option('--origin-key <pem>', 'the key of --origin-cert')
  .option('--bond', 'a second NIC per guest on the lab bridge and bond=bond0:eth0,eth1:mode=active-backup,miimon=100 (build the set with --hook bonding)')
  .addOption(new Option('--vlan <id>', 'boot over 802.1Q VLAN <id>: a second NIC per guest wired to a peer guest that serves DHCP and the rootfs only on that VLAN; guests boot with vlan=eth1.<id>:eth1 (build the set with --hook vlan)').argParser(parseInteger))
  .option('--extra-nic', 'give each guest a second, isolated NIC ahead of the boot NIC (BOOTIF= must pick the right one)')
  .option('--until <regex>', 'stop once every guest\'s console matched this (default: when every guest powered off)')
  .addOption(new Option('--timeout <seconds>', 'give up after this long').argParser(parseInteger).default(600))
  .option('--keep', 'leave the lab running and print how to attach; Ctrl-C removes it')
  .action(async (opts) => {
    if (opts.clients < 1 || opts.clients > 16) throw new RambootError('usage', `--clients ${opts.clients} is out of range`, 'give 1 to 16');
    if (opts.vlan !== undefined && (opts.vlan < 1 || opts.vlan > 4094)) throw new RambootError('usage', `--vlan ${opts.vlan} is not a VLAN id`, 'give 1 to 4094');
    let starting: Promise<Lab> | undefined;
    let exiting = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (exiting) return;
      exiting = true;
      process.stderr.write(`ramboot lab: ${signal}: removing the lab\n`);
      // A lab still starting is removed once started (startLab removes what it made if it fails).
      void (starting ?? Promise.reject(new Error('not started')))
        .then((lab) => lab.close(), () => {})
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    starting = startLab({
      setDir: opts.set,
      clients: opts.clients,
      firmware: opts.firmware,
      ...(opts.append !== undefined ? { append: opts.append } : {}),
      ...(opts.extraNic ? { extraNic: true } : {}),
      ...(opts.ipv6 ? { ipv6: opts.ipv6 === 'dhcp6' ? ('dhcp6' as const) : true } : {}),
      ...(opts.proxy ? { proxy: true } : {}),
      ...(opts.originCert !== undefined || opts.originKey !== undefined ? { proxyTls: { cert: opts.originCert ?? '', key: opts.originKey ?? '' } } : {}),
      ...(opts.bond ? { bond: true } : {}),
      ...(opts.vlan !== undefined ? { vlan: opts.vlan } : {}),
      onOutput: prefixer(),
    });
    const lab = await starting.catch((error: unknown) => {
      if (exiting) return new Promise<never>(() => {});
      throw error;
    });
    process.stderr.write(`ramboot lab: namespace ${lab.namespace}, server ${lab.baseUrl}, state in ${lab.stateDir}\n`);
    try {
      if (opts.keep) {
        process.stderr.write(
          [
            `ramboot lab: running; attach with: ip netns exec ${lab.namespace} sh   (the server is ${lab.baseUrl})`,
            `ramboot lab: configs: ${lab.stateDir}/dnsmasq.conf, ${lab.stateDir}/nginx-ramboot.conf, ${lab.stateDir}/www/boot.ipxe`,
            `ramboot lab: logs: ${[lab.dnsmasqLog, lab.accessLog, lab.dnsLog, lab.proxyLog, lab.originTlsLog].filter(Boolean).join(', ')}; Ctrl-C removes everything`,
            '',
          ].join('\n'),
        );
        await new Promise(() => {});
      }
      const until = opts.until ? new RegExp(opts.until) : undefined;
      await Promise.all(lab.guests.map((g) => (until ? g.waitFor(until, opts.timeout * 1000) : Promise.race([g.exited, timeout(opts.timeout, g.name)]))));
    } catch (error) {
      if (!exiting) throw error;
    } finally {
      if (!exiting) await lab.close();
    }
    // A signal stopped the guests (which ends the wait above): its handler finishes the cleanup
    // and exits with 128 + the signal number; returning now would exit 0 in the middle of it.
    if (exiting) await new Promise(() => {});
  });

function timeout(seconds: number, name: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new RambootError('boot', `${name} did not power off within ${seconds} s`, 'give --until REGEX or a longer --timeout')), seconds * 1000).unref());
}
