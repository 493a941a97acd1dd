// `ramboot lab --ipv6`: the lab's network gets a unique-local /64 next to its IPv4 one. The
// bridge holds fd77::1; the lab's dnsmasq (its generated config, with --ipv6-range) sends router
// advertisements for the /64, autonomous for SLAAC (ip=auto6) and managed for DHCPv6 (ip=dhcp6),
// and nginx listens on [::] too. A second dnsmasq plays the site's DNS server: it answers only
// for boot6.lab, a name with an AAAA record and no A record, so a fetch by that name can only go
// over IPv6. The IPv4 leases name it as their DNS server (10.77.0.1), DHCPv6 as fd77::1.
// `--ipv6 dhcp6` (LabOptions.ipv6 'dhcp6') drops the autonomous flag: the RAs are managed only
// and a guest's one global address is its DHCPv6 lease.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { toolError } from '../../errors.js';
import { LAB_BRIDGE, LAB_SERVER_IP, type LabNetwork } from './netns.js';
import { startInNamespace, waitReady, type LabServer } from './servers.js';

export const LAB_SERVER_IP6 = 'fd77::1';
export const LAB_PREFIX6 = 64;
/** DHCPv6 leases come from here; SLAAC addresses are fd77::<EUI-64 of the MAC>. */
export const LAB_RANGE6 = 'fd77::100,fd77::1ff';
/** Resolves to LAB_SERVER_IP6 only (AAAA, no A). */
export const LAB_NAME6 = 'boot6.lab';

export async function addLabIpv6(net: LabNetwork): Promise<void> {
  // nodad: the server's address is usable at once, before dnsmasq binds to it.
  const r = await execa('ip', ['-n', net.name, 'addr', 'add', `${LAB_SERVER_IP6}/${LAB_PREFIX6}`, 'dev', LAB_BRIDGE, 'nodad'], { reject: false });
  if (r.exitCode !== 0) throw toolError(`cannot add ${LAB_SERVER_IP6} to the lab bridge: ${r.stderr.trim()}`, 'the host kernel needs IPv6 (not booted with ipv6.disable=1)');
}

/** The lab's DNS server (a dnsmasq of its own, no DHCP): LAB_NAME6 -> LAB_SERVER_IP6, queries logged. */
export async function startLabDns(net: LabNetwork, stateDir: string): Promise<{ server: LabServer; log: string }> {
  const log = join(stateDir, 'dns.log');
  const { server, child } = startInNamespace(net, 'dnsmasq', [
    'dnsmasq',
    '--keep-in-foreground',
    // Nothing from /etc: no /etc/dnsmasq.conf, /etc/hosts or upstream servers from resolv.conf.
    '--conf-file=/dev/null',
    '--no-hosts',
    '--no-resolv',
    '--port=53',
    '--bind-interfaces',
    `--listen-address=${LAB_SERVER_IP}`,
    `--listen-address=${LAB_SERVER_IP6}`,
    `--host-record=${LAB_NAME6},${LAB_SERVER_IP6}`,
    '--log-queries',
    `--log-facility=${log}`,
    `--pid-file=${join(stateDir, 'dns.pid')}`,
    '--user=root',
  ]);
  await waitReady('dnsmasq', child, () => existsSync(log) && /started, version/.test(readFileSync(log, 'utf8')));
  return { server, log };
}
