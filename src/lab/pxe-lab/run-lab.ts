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

export interface LabOptions {
  setDir: string;
  /** Guests booted at once, default 1. */
  clients?: number;
  /** Kernel command line words over the set's cmdline.txt, written into boot.ipxe. */
  append?: string;
  /** Give each guest first a NIC on an isolated network, then the boot NIC (BOOTIF must pick it). */
  extraNic?: boolean;
  /** Guest firmware, default 'bios' (SeaBIOS); 'uefi' is OVMF. Either way the NIC's iPXE ROM does the PXE boot. */
  firmware?: 'bios' | 'uefi';
  memoryMiB?: number;
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
  /** Stop everything and delete the namespace and the state directory. Safe to call twice. */
  close(): Promise<void>;
}

/** QEMU's locally administered 52:54:00 prefix, then the lab, client and NIC numbers. */
export const labMac = (client: number, nic: number) => `52:54:00:77:${client.toString(16).padStart(2, '0')}:${nic.toString(16).padStart(2, '0')}`;

const SET_FILES = ['vmlinuz', 'initrd.img', 'rootfs.squashfs', 'cmdline.txt', 'SHA256SUMS'];

export async function startLab(opts: LabOptions): Promise<Lab> {
  const setDir = resolve(opts.setDir);
  for (const f of ['vmlinuz', 'initrd.img', 'cmdline.txt']) {
    if (!existsSync(join(setDir, f))) throw inputError(`${setDir} has no ${f}`, 'give --set the directory ramboot build wrote');
  }
  const clients = opts.clients ?? 1;
  if (opts.firmware === 'uefi') {
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
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await Promise.all(guests.map((g) => g.stop()));
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
    // console=ttyS0: the lab reads each guest on its serial port.
    const append = `console=ttyS0 ${opts.append ?? ''}`.trim();
    const common = { setDir, baseUrl, webRoot: www, tftpRoot: www, accessLog, dnsmasqLog, append };
    await writeFile(join(www, CONFIG_FILES.ipxe), await renderSetConfig('ipxe', common));
    const dnsmasqConf = join(stateDir, CONFIG_FILES.dnsmasq);
    await writeFile(dnsmasqConf, await renderSetConfig('dnsmasq', { ...common, interface: LAB_BRIDGE, dhcpRange: '10.77.0.100,10.77.0.199' }));
    const nginxConf = join(stateDir, CONFIG_FILES.nginx);
    await writeFile(nginxConf, await renderSetConfig('nginx', common));

    net = await createLabNetwork(namespace);
    servers.push(await startDnsmasq(net, stateDir, dnsmasqConf, dnsmasqLog));
    servers.push(await startNginx(net, stateDir, nginxConf));
    for (let c = 1; c <= clients; c++) {
      const nics: GuestNic[] = [];
      if (opts.extraNic) nics.push({ tap: 'isolated', mac: labMac(c, 0) });
      const tap = `rbtap${c}`;
      await net.addTap(tap);
      nics.push({ tap, mac: labMac(c, 1), boot: true });
      const name = `client${c}`;
      let uefiVars: string | undefined;
      if (opts.firmware === 'uefi') {
        uefiVars = join(stateDir, `${name}-OVMF_VARS.fd`);
        await copyFile(OVMF_VARS, uefiVars);
      }
      guests.push(startLabGuest(net, { name, nics, memoryMiB: opts.memoryMiB ?? 1024, ...(uefiVars ? { uefiVars } : {}), ...(opts.onOutput ? { onOutput: (t: string) => opts.onOutput!(name, t) } : {}) }));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { namespace, stateDir, baseUrl, guests, accessLog, dnsmasqLog, close };
}

export { LAB_SERVER_IP, LAB_SUBNET };
