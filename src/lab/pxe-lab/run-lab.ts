// `ramboot lab`: an image set booted through the whole netboot chain on one machine. A network
// namespace with a bridge; dnsmasq (DHCP, TFTP, iPXE chainloading) and nginx inside it on the
// configs `ramboot config` writes; QEMU guests on taps whose firmware PXE-boots: QEMU's iPXE ROM
// gets a lease and the boot.ipxe URL from dnsmasq, loads vmlinuz and initrd.img from nginx, and
// the ram script fetches rootfs.squashfs from nginx. close() removes all of it: guests and
// servers stopped, then the namespace (with its bridge and taps) deleted.
import { existsSync, symlinkSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inputError, toolError } from '../../errors.js';
import { CONFIG_FILES, renderSetConfig } from '../../netboot/set-configs.js';
import { createLabNetwork, labNamespaceName, removeStaleLabNamespaces, LAB_BRIDGE, LAB_SERVER_IP, LAB_SUBNET, type LabNetwork } from './netns.js';
import { startDnsmasq, startNginx, type LabServer } from './servers.js';
import { OVMF_CODE, OVMF_VARS, startLabGuest, type GuestNic, type LabGuest } from './guest.js';
import { addLabIpv6, startLabDns, LAB_NAME6, LAB_RANGE6, LAB_SERVER_IP6 } from './lab-ipv6.js';
import { addOriginAddress, startLabProxy, startTlsOrigin, LAB_ORIGIN_IP, LAB_PROXY_URL, type OriginTls } from './lab-proxy.js';
import { bondTap, LAB_BOND_PARAM } from './lab-bond.js';
import { checkHttpBootSet } from './lab-http-boot.js';
import { startVlanPeer, vlanWords, LAB_VLAN_PORT } from './lab-vlan.js';

export interface LabOptions {
  setDir: string;
  /** Guests booted at once, default 1. */
  clients?: number;
  /** Kernel command line words over the set's cmdline.txt, written into boot.ipxe. */
  append?: string;
  /** Give each guest first a NIC on an isolated network, then the boot NIC (BOOTIF must pick it). */
  extraNic?: boolean;
  /** Guest firmware, default 'bios' (SeaBIOS); 'uefi' is OVMF. Either way the NIC's iPXE ROM does
   * the PXE boot. 'uefi-http': OVMF boots the set's ramboot.efi by UEFI HTTP Boot (lab-http-boot.ts). */
  firmware?: 'bios' | 'uefi' | 'uefi-http';
  memoryMiB?: number;
  /** IPv6 on the lab network (lab-ipv6.ts); guests boot with ip=dhcp,auto6 and fetch by an AAAA-only name unless --append says otherwise.
   * 'dhcp6': DHCPv6 leases only (no SLAAC prefix), guests boot with ip=dhcp6 (their busybox needs udhcpc6). */
  ipv6?: boolean | 'dhcp6';
  /** A forward proxy, and the set at an origin address only it reaches (lab-proxy.ts); guests boot with proxy= and that origin. */
  proxy?: boolean;
  /** With proxy: the origin serves https with this certificate (for IP:10.77.1.1) and guests fetch https://10.77.1.1/; the set needs --hook curl and a root that trusts the certificate's CA. */
  proxyTls?: OriginTls;
  /** A second NIC per guest on the bridge and bond= over both (lab-bond.ts); the set needs --hook bonding. */
  bond?: boolean;
  /** A VLAN with this id (1..4094) on a second NIC per guest, served by a peer guest (lab-vlan.ts); the set needs --hook vlan. */
  vlan?: number;
  onOutput?: (guest: string, text: string) => void;
}

export interface Lab {
  namespace: string;
  stateDir: string;
  baseUrl: string;
  guests: LabGuest[];
  /** nginx's access log (format `ramboot` of the generated config). */
  accessLog: string;
  dnsmasqLog: string;
  /** --vlan: the guest that serves the VLAN (not in guests: it never powers off). */
  vlanPeer?: LabGuest;
  /** --ipv6: the lab DNS server's query log. */
  dnsLog?: string;
  /** --proxy: tinyproxy's log. */
  proxyLog?: string;
  /** proxyTls: the https origin's access log. */
  originTlsLog?: string;
  /** Stop everything and delete the namespace and the state directory. Safe to call twice. */
  close(): Promise<void>;
}

/** QEMU's locally administered 52:54:00 prefix, then the lab, client and NIC numbers. */
export const labMac = (client: number, nic: number) => `52:54:00:77:${client.toString(16).padStart(2, '0')}:${nic.toString(16).padStart(2, '0')}`;

const SET_FILES = ['vmlinuz', 'initrd.img', 'rootfs.squashfs', 'cmdline.txt', 'SHA256SUMS', 'ramboot.efi'];

export async function startLab(opts: LabOptions): Promise<Lab> {
  const setDir = resolve(opts.setDir);
  for (const f of ['vmlinuz', 'initrd.img', 'cmdline.txt']) {
    if (!existsSync(join(setDir, f))) throw inputError(`${setDir} has no ${f}`, 'give --set the directory ramboot build wrote');
  }
  const clients = opts.clients ?? 1;
  if (opts.proxyTls && !opts.proxy) throw inputError('an https origin (--origin-cert) goes with --proxy', 'add --proxy');
  if (opts.firmware === 'uefi-http') checkHttpBootSet({ ...opts, setDir });
  if (opts.firmware === 'uefi' || opts.firmware === 'uefi-http') {
    for (const f of [OVMF_CODE, OVMF_VARS]) if (!existsSync(f)) throw toolError(`no UEFI firmware: ${f} is missing`, 'apt-get install ovmf, or use --firmware bios');
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'ramboot-lab-'));
  // One name per lab run: two labs (or a lab and a test) never share a namespace.
  const namespace = labNamespaceName(stateDir.slice(-6));
  await removeStaleLabNamespaces();
  const baseUrl = `http://${LAB_SERVER_IP}/`;
  const accessLog = join(stateDir, 'nginx-access.log');
  const dnsmasqLog = join(stateDir, 'dnsmasq.log');
  const servers: LabServer[] = [];
  const guests: LabGuest[] = [];
  let net: LabNetwork | undefined;
  let dnsLog: string | undefined;
  let vlanPeer: LabGuest | undefined;
  let proxyLog: string | undefined;
  let originTlsLog: string | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await Promise.all([...guests, ...(vlanPeer ? [vlanPeer] : [])].map((g) => g.stop()));
      await Promise.all(servers.map((s) => s.stop()));
      await net?.destroy();
      await rm(stateDir, { recursive: true, force: true });
    })());
  try {
    // The web root: the set's files (linked, not copied) and the rendered boot.ipxe next to them.
    const www = join(stateDir, 'www');
    await mkdir(www);
    const present = new Set(await readdir(setDir));
    for (const f of SET_FILES) if (present.has(f)) symlinkSync(join(setDir, f), join(www, f));
    // console=ttyS0: the lab reads each guest on its serial port. --ipv6 and --proxy words
    // come before --append's, so the user's words win.
    const labWords = [
      ...(opts.ipv6 ? [opts.ipv6 === 'dhcp6' ? 'ip=dhcp6' : 'ip=dhcp,auto6', `rooturl=http://${LAB_NAME6}/rootfs.squashfs`] : []),
      ...(opts.proxy ? [`proxy=${LAB_PROXY_URL}`, `rooturl=${opts.proxyTls ? 'https' : 'http'}://${LAB_ORIGIN_IP}/rootfs.squashfs`] : []),
      ...(opts.bond ? [LAB_BOND_PARAM] : []),
      ...(opts.vlan ? vlanWords(opts.vlan) : []),
    ];
    const append = ['console=ttyS0', ...labWords, opts.append ?? ''].join(' ').trim();
    const ipv6 = opts.ipv6 ? { ipv6Range: LAB_RANGE6, dns6: LAB_SERVER_IP6, dns: LAB_SERVER_IP, ...(opts.ipv6 === 'dhcp6' ? { dhcp6Only: true } : {}) } : {};
    const common = { setDir, baseUrl, webRoot: www, tftpRoot: www, accessLog, dnsmasqLog, append, ...ipv6 };
    await writeFile(join(www, CONFIG_FILES.ipxe), await renderSetConfig('ipxe', common));
    const dnsmasqConf = join(stateDir, CONFIG_FILES.dnsmasq);
    await writeFile(dnsmasqConf, await renderSetConfig('dnsmasq', { ...common, interface: LAB_BRIDGE, dhcpRange: '10.77.0.100,10.77.0.199' }));
    const nginxConf = join(stateDir, CONFIG_FILES.nginx);
    await writeFile(nginxConf, await renderSetConfig('nginx', common));

    net = await createLabNetwork(namespace);
    if (opts.ipv6) await addLabIpv6(net);
    if (opts.proxy) await addOriginAddress(net);
    servers.push(await startDnsmasq(net, stateDir, dnsmasqConf, dnsmasqLog));
    servers.push(await startNginx(net, stateDir, nginxConf));
    if (opts.ipv6) {
      const dns = await startLabDns(net, stateDir);
      servers.push(dns.server);
      dnsLog = dns.log;
    }
    if (opts.proxy) {
      const proxy = await startLabProxy(net, stateDir);
      servers.push(proxy.server);
      proxyLog = proxy.log;
      if (opts.proxyTls) {
        const origin = await startTlsOrigin(net, stateDir, www, opts.proxyTls);
        servers.push(origin.server);
        originTlsLog = origin.log;
      }
    }
    if (opts.vlan) {
      // One socket network is one wire: one client.
      if (clients > 1) throw inputError(`--vlan takes one client, not ${clients}`, 'drop --clients');
      vlanPeer = await startVlanPeer(net, setDir, stateDir, opts.vlan, opts.onOutput ? (t) => opts.onOutput!('vlanpeer', t) : undefined);
    }
    for (let c = 1; c <= clients; c++) {
      const nics: GuestNic[] = [];
      if (opts.extraNic) nics.push({ tap: 'isolated', mac: labMac(c, 0) });
      const tap = `rbtap${c}`;
      await net.addTap(tap);
      nics.push({ tap, mac: labMac(c, 1), boot: true });
      if (opts.bond) {
        await net.addTap(bondTap(c));
        nics.push({ tap: bondTap(c), mac: labMac(c, 2) });
      }
      if (opts.vlan) nics.push({ tap: { socket: `connect=127.0.0.1:${LAB_VLAN_PORT}` }, mac: labMac(c, 3) });
      const name = `client${c}`;
      let uefiVars: string | undefined;
      if (opts.firmware === 'uefi' || opts.firmware === 'uefi-http') {
        uefiVars = join(stateDir, `${name}-OVMF_VARS.fd`);
        await copyFile(OVMF_VARS, uefiVars);
      }
      guests.push(startLabGuest(net, { name, nics, memoryMiB: opts.memoryMiB ?? 1024, monitorSocket: join(stateDir, `${name}.monitor`), ...(uefiVars ? { uefiVars } : {}), ...(opts.firmware === 'uefi-http' ? { httpBoot: true } : {}), ...(opts.onOutput ? { onOutput: (t: string) => opts.onOutput!(name, t) } : {}) }));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { namespace, stateDir, baseUrl, guests, accessLog, dnsmasqLog, ...(dnsLog ? { dnsLog } : {}), ...(proxyLog ? { proxyLog } : {}), ...(originTlsLog ? { originTlsLog } : {}), ...(vlanPeer ? { vlanPeer } : {}), close };
}

export { LAB_SERVER_IP, LAB_SUBNET };
