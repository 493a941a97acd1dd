// The devices of a machine as the kernel names them for module matching: the modalias of every
// device on every bus (/sys/bus/*/devices/*/modalias, e.g. `pci:v00008086d0000100Esv…`), the
// same strings udev's coldplug hands to modprobe. --host-only reads them on the build host and
// keeps the drivers they match; the probe is a function so tests pass a fake machine.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inputError } from '../errors.js';
import { lookupSpec } from './lookup.js';
import type { ModuleIndex, ModuleInfo } from './types.js';

/** Resolves to the device modaliases of a machine, deduplicated and sorted. */
export type ModaliasProbe = () => Promise<string[]>;

/** This machine's (or a mounted sysfs copy's) device modaliases. */
export function sysfsModaliasProbe(sys = '/sys'): ModaliasProbe {
  return async () => {
    const buses = await readdir(join(sys, 'bus')).catch((error: NodeJS.ErrnoException) => {
      throw inputError(`cannot list ${join(sys, 'bus')}: ${error.code ?? error.message}`, '--host-only reads the devices from sysfs: run it on the machine to boot, with /sys mounted');
    });
    const found = new Set<string>();
    await Promise.all(
      buses.map(async (bus) => {
        const devices = await readdir(join(sys, 'bus', bus, 'devices')).catch(() => []);
        await Promise.all(
          devices.map(async (device) => {
            // Devices without a modalias file (most virtual ones) match no module.
            const text = await readFile(join(sys, 'bus', bus, 'devices', device, 'modalias'), 'utf8').catch(() => '');
            const alias = text.trim();
            if (alias) found.add(alias);
          }),
        );
      }),
    );
    return [...found].sort();
  };
}

/** A bus modalias pattern: `pci:v…`, `usb:v…`, `virtio:d…`, `acpi*:PNP0303:*`, `cpu:type:…`.
 * Filesystem, protocol, crypto and device-number aliases (`fs-ext4`, `net-pf-17`,
 * `crypto-lzo`, `block-major-7-*`) have no colon; `devname:` names a /dev node a module serves. */
const DEVICE_ALIAS = /^(?!devname:|symbol:)[a-z0-9_]+\*?:/i;

/** Whether `info` binds to devices: one of its aliases is a bus modalias pattern. A module
 * without one (a filesystem, a code page, loop, zram) is not hardware-specific. */
export function isDeviceDriver(info: Pick<ModuleInfo, 'aliases'>): boolean {
  return info.aliases.some((alias) => DEVICE_ALIAS.test(alias));
}

/** Loadable modules whose alias patterns match one of `modaliases`, each with the first
 * modalias that matched it (built-in drivers need nothing and are left out). */
export function matchModaliases(index: ModuleIndex, modaliases: readonly string[]): Map<string, string> {
  const matched = new Map<string, string>();
  for (const modalias of modaliases) {
    const match = lookupSpec(index, modalias, false);
    if (match.kind !== 'modules') continue;
    for (const name of match.names) if (!matched.has(name)) matched.set(name, modalias);
  }
  return matched;
}
