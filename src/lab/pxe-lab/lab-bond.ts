// `ramboot lab --bond`: each guest gets a second NIC on the lab bridge and boots with an
// active-backup bond of the two (the set needs the bonding hook). A test pulls a cable with
// QEMU's `set_link` (the guest's virtio NIC reports the carrier gone, as a real cable pull
// does; downing the tap on the host side would not tell the guest anything), and can slow the
// taps with tc's tbf (the host kernel has no netem; docs/facts.md) so the cut lands mid-fetch.
import { execa } from 'execa';
import { toolError } from '../../errors.js';
import type { LabGuest } from './guest.js';

/** What `--bond` adds to the command line: eth0 (the PXE NIC) and eth1, miimon to see a cut. */
export const LAB_BOND_PARAM = 'bond=bond0:eth0,eth1:mode=active-backup,miimon=100';

/** The second tap of client `c` (the first is rbtap<c>). */
export const bondTap = (client: number) => `rbtap${client}b`;

/** Limit what the lab sends into `tap` (toward the guest) to `rate` (tc units, e.g. 16mbit). */
export async function throttleTap(namespace: string, tap: string, rate: string): Promise<void> {
  const r = await execa('ip', ['netns', 'exec', namespace, 'tc', 'qdisc', 'replace', 'dev', tap, 'root', 'tbf', 'rate', rate, 'burst', '64kb', 'latency', '500ms'], { reject: false });
  if (r.exitCode !== 0) throw toolError(`tc tbf on ${tap} failed: ${r.stderr.trim()}`, 'apt-get install iproute2 (tc); the kernel needs sch_tbf');
}

/** Pull (up=false) or plug back the cable of a guest's NIC number `nic` (its netdev n<nic>). */
export async function setGuestLink(guest: LabGuest, nic: number, up: boolean): Promise<void> {
  const said = (await guest.monitor(`set_link n${nic} ${up ? 'on' : 'off'}`)).replace(/^.*set_link.*$/m, '').trim();
  if (said !== '') throw toolError(`${guest.name}: set_link n${nic}: ${said}`, 'the NIC ids are n0, n1, ... in the order of the guest\'s NICs');
}
