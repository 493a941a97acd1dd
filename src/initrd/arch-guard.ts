// The last check before an initrd is written: every ELF file in it is for the set's CPU. It
// catches what each source alone could get wrong — a host busybox in an arm64 initrd, an amd64
// module tree in an arm64 root, a hook binary copied from the wrong place — and names who asked
// for the file. Firmware is exempt: it runs on the device (some of it is ELF for the device's
// own CPU), never on the machine booting.
import { inputError } from '../errors.js';
import { elfMachineOf, machineName, MACHINE_OF, readElfMachine, type Arch } from '../elf/machine.js';
import type { InitrdPlan } from './plan.js';

const FIRMWARE = /^(usr\/)?lib\/firmware\//;

export async function checkPlanArch(plan: InitrdPlan, arch: Arch): Promise<void> {
  const want = MACHINE_OF[arch];
  for (const item of plan.list()) {
    if (FIRMWARE.test(item.path)) continue;
    const c = item.content;
    const machine = c.kind === 'file' ? elfMachineOf(c.data) : c.kind === 'disk-file' ? await readElfMachine(c.path) : undefined;
    if (machine !== undefined && machine !== want) {
      throw inputError(`/${item.path} (${item.requestedBy}) is an ELF file for ${machineName(machine)}, the set is ${arch}`, `an ${arch} set holds only ${arch} binaries: replace that file in the root (or give another --busybox)`);
    }
  }
}
