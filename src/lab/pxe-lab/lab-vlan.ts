// `ramboot lab --vlan ID`: the host kernel has no 8021q and no VLAN-filtering bridge
// (docs/facts.md), so the tagged network is a wire of its own: a QEMU socket network on the lab
// namespace's loopback between each client's second NIC and a peer guest that plays the site's
// servers on VLAN ID. The peer boots the set's own kernel and initrd (which has busybox, the NIC
// drivers and, built with --hook vlan, 8021q) with a small cpio appended: its init script and the
// set's rootfs. It tags eth0.ID with 10.55.0.1/24, runs busybox udhcpd and httpd there, and
// nothing untagged answers. The client still PXE-boots from the lab on its first NIC; its ram
// script brings up eth1.ID (vlan=), takes the peer's lease and fetches the rootfs from the peer.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNewc } from '../../cpio/newc-writer.js';
import type { CpioEntry } from '../../cpio/entry.js';
import { startLabGuest, type LabGuest } from './guest.js';
import type { LabNetwork } from './netns.js';

export const LAB_VLAN_SERVER_IP = '10.55.0.1';
/** The socket network's port on the namespace's own loopback (no other lab can see it). */
export const LAB_VLAN_PORT = 47755;
const PEER_READY = /vlan-peer: ready/;

/** The client's words: the VLAN on its second NIC (eth1) and the rootfs from the peer. */
export const vlanWords = (id: number) => [`vlan=eth1.${id}:eth1`, `rooturl=http://${LAB_VLAN_SERVER_IP}/rootfs.squashfs`];

export function renderPeerInit(id: number): string {
  const vif = `eth0.${id}`;
  return `#!/bin/sh
# The lab's VLAN peer (src/lab/pxe-lab/lab-vlan.ts): servers reachable only on VLAN ${id}.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp
# af_packet: udhcpd answers a client without an address through a packet socket.
for m in virtio_pci virtio_net af_packet 8021q; do modprobe $m 2>/dev/null; done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set dev eth0 up
ip link add link eth0 name ${vif} type vlan id ${id} || echo "vlan-peer: no 802.1Q in this initrd (build the set with --hook vlan)"
ip addr add ${LAB_VLAN_SERVER_IP}/24 dev ${vif}
ip link set dev ${vif} up
printf '%s\\n' 'start 10.55.0.100' 'end 10.55.0.150' 'interface ${vif}' 'lease_file /tmp/udhcpd.leases' \\
  'siaddr ${LAB_VLAN_SERVER_IP}' 'option subnet 255.255.255.0' 'option lease 3600' >/tmp/udhcpd.conf
: >/tmp/udhcpd.leases
busybox udhcpd -f /tmp/udhcpd.conf &
busybox httpd -f -vv -p ${LAB_VLAN_SERVER_IP}:80 -h /srv &
cat /proc/net/vlan/config
echo "vlan-peer: ready on ${vif} ${LAB_VLAN_SERVER_IP}"
wait
`;
}

/** The set's initrd.img with the peer's cpio appended (the kernel unpacks the segments in turn). */
export function writePeerInitrd(setDir: string, stateDir: string, id: number): string {
  const now = Math.floor(Date.now() / 1000);
  const base = { uid: 0, gid: 0, mtime: now };
  const root = join(setDir, 'rootfs.squashfs');
  const entries: CpioEntry[] = [
    { ...base, path: 'vlan-peer-init', type: 'file', mode: 0o755, data: Buffer.from(renderPeerInit(id)) },
    { ...base, path: 'srv', type: 'dir', mode: 0o755 },
    { ...base, path: 'srv/rootfs.squashfs', type: 'file', mode: 0o644, source: { path: root, size: statSync(root).size } },
  ];
  const initrd = join(stateDir, 'vlan-peer-initrd.img');
  const set = readFileSync(join(setDir, 'initrd.img'));
  // The kernel takes a cpio segment only at a 4-byte aligned offset and skips zeros before one
  // (init/initramfs.c, unpack_to_rootfs); a compressed segment can end anywhere.
  writeFileSync(initrd, Buffer.concat([set, Buffer.alloc((4 - (set.length % 4)) % 4), encodeNewc(entries)]));
  return initrd;
}

/** Start the peer (listening on the socket network) and wait until its servers run. */
export async function startVlanPeer(net: LabNetwork, setDir: string, stateDir: string, id: number, onOutput?: (text: string) => void): Promise<LabGuest> {
  const initrd = writePeerInitrd(setDir, stateDir, id);
  const peer = startLabGuest(net, {
    name: 'vlanpeer',
    memoryMiB: 512,
    nics: [{ tap: { socket: `listen=127.0.0.1:${LAB_VLAN_PORT}` }, mac: '52:54:00:77:fe:01' }],
    direct: { kernel: join(setDir, 'vmlinuz'), initrd, append: 'console=ttyS0 rdinit=/vlan-peer-init panic=-1' },
    ...(onOutput ? { onOutput } : {}),
  });
  try {
    await peer.waitFor(PEER_READY, 180_000);
  } catch (error) {
    await peer.stop();
    throw error;
  }
  return peer;
}
