// The floor-fetch initrd of the boot bench: the floor (busybox, prints the uptime) plus only what
// no netboot initrd can skip: load the NIC's driver, take a DHCP lease with udhcpc, and wget the
// benchmark's image from the same server into tmpfs. floor-fetch − floor is what moving the image
// over QEMU's user network costs here; no initrd that fetches its root can boot faster than
// floor-fetch. The URL comes on the kernel command line as `floorurl=`, which the kernel hands
// to init as an environment variable (an unknown `name=value` parameter).
import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { CpioEntry } from '../src/cpio/entry.js';
import { encodeNewc } from '../src/cpio/newc-writer.js';
import { readModuleFile, readModuleIndex, resolveModules } from '../src/kmod/index.js';

/** The guest NIC of src/lab/qemu.ts (virtio-net-pci) needs these and their dependencies. */
const NIC_MODULES = ['virtio_pci', 'virtio_net'];

/** init: $1.. are the modules in load order (dependencies first), as /m/NAME.ko. */
export function renderFloorFetchInit(modules: readonly string[]): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o size=90% tmpfs /mnt
fail() { echo "ramboot: error: floor-fetch: $1"; poweroff -f; }
for m in ${modules.join(' ')}; do insmod /m/$m.ko || fail "insmod $m"; done
n=0
while [ ! -e /sys/class/net/eth0 ]; do
  n=$((n + 1)); [ $n -gt 500 ] && fail "no eth0"
  sleep 0.01
done
ip link set eth0 up
udhcpc -f -q -n -t 10 -T 1 -i eth0 -s /udhcpc.script >/dev/null 2>&1 || fail "no DHCP lease"
wget -q -O /mnt/image "$floorurl" || fail "wget $floorurl"
read -r up _ < /proc/uptime
echo "RAMBOOT-FETCHED bytes=$(stat -c %s /mnt/image)"
echo "RAMBOOT-INIT pid=$$ uptime=$up"
echo "RAMBOOT-DONE"
poweroff -f
`;
}

/** udhcpc's script: the address only; 10.0.2.2 is on the lease's own subnet, no route needed. */
const UDHCPC_SCRIPT = `#!/bin/busybox sh
[ "$1" = bound ] || exit 0
ifconfig "$interface" "$ip" netmask "\${subnet:-255.255.255.0}" up
`;

/** Writes the floor-fetch initrd (gzip newc) for the kernel whose modules are under `root`. */
export async function buildFloorFetchInitrd(path: string, root: string, kver: string): Promise<void> {
  const index = await readModuleIndex(`${root}/lib/modules/${kver}`, { root });
  const resolution = resolveModules(
    index,
    NIC_MODULES.map((spec) => ({ spec, reason: 'floor-fetch' })),
    { softdeps: false },
  );
  if (resolution.missing.length > 0) throw new Error(`floor-fetch: kernel ${kver} has no ${resolution.missing.map((m) => m.spec).join(', ')}`);
  const meta = { uid: 0, gid: 0, mtime: 0 };
  const dir = (p: string): CpioEntry => ({ path: p, type: 'dir', mode: 0o755, ...meta });
  const file = (p: string, data: Buffer, mode = 0o755): CpioEntry => ({ path: p, type: 'file', mode, ...meta, data });
  const modules: CpioEntry[] = [];
  for (const m of resolution.modules) modules.push(file(`m/${m.info.name}.ko`, await readModuleFile(index, m.info), 0o644));
  const entries: CpioEntry[] = [
    dir('bin'),
    file('bin/busybox', await readFile('/bin/busybox')),
    dir('dev'),
    { path: 'dev/console', type: 'chardev', mode: 0o600, ...meta, rdevMajor: 5, rdevMinor: 1 },
    file('init', Buffer.from(renderFloorFetchInit(resolution.modules.map((m) => m.info.name)))),
    dir('m'),
    ...modules,
    dir('mnt'),
    dir('proc'),
    dir('sys'),
    file('udhcpc.script', Buffer.from(UDHCPC_SCRIPT)),
  ];
  await writeFile(path, gzipSync(encodeNewc(entries)));
}
