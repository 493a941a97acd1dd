// The lab's network: a network namespace of its own holding a bridge (the lab's "switch", with
// the server address on it) and one tap device per guest NIC. Nothing is created in the host's
// namespace, so the lab's DHCP server can never answer the host's network and its ports are not
// the host's. Deleting the namespace deletes the bridge and the taps with it, once no process
// holds it (docs/facts.md, "QEMU and the lab machine": netns, bridges and taps work as root).
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { toolError } from '../../errors.js';

export const LAB_BRIDGE = 'rbbr0';
export const LAB_SUBNET = '10.77.0.0';
export const LAB_SERVER_IP = '10.77.0.1';
export const LAB_PREFIX = 24;

async function ip(args: string[]): Promise<void> {
  const r = await execa('ip', args, { reject: false });
  if (r.exitCode !== 0) {
    throw toolError(`ip ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`, 'ramboot lab needs root (network namespaces, bridges, taps) and iproute2');
  }
}

export interface LabNetwork {
  name: string;
  /** Create a tap device in the namespace, attached to the bridge and up. */
  addTap(name: string): Promise<void>;
  /** The argv prefix that runs a program inside the namespace. */
  exec(argv: string[]): string[];
  /** Delete the namespace (and with it the bridge and taps). Safe to call twice. */
  destroy(): Promise<void>;
}

export async function listNamespaces(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  return r.stdout.split('\n').map((line) => line.split(' ')[0]!).filter((n) => n !== '');
}

/** `ramboot-lab-<pid>-...`: the lab names its namespaces after the process that made them. */
export const labNamespaceName = (suffix: string) => `ramboot-lab-${process.pid}-${suffix}`;

/**
 * Delete the namespaces of labs whose process is gone and that hold no process (a lab killed
 * with SIGKILL cannot clean up after itself), as a build removes a dead build's staging directory.
 */
export async function removeStaleLabNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    const pid = /^ramboot-lab-(\d+)-/.exec(ns)?.[1];
    if (pid === undefined || existsSync(`/proc/${pid}`)) continue;
    const pids = await execa('ip', ['netns', 'pids', ns], { reject: false });
    if (pids.exitCode !== 0 || pids.stdout.trim() !== '') continue;
    await execa('ip', ['netns', 'del', ns], { reject: false });
    removed.push(ns);
  }
  return removed;
}

export async function createLabNetwork(name: string): Promise<LabNetwork> {
  await ip(['netns', 'add', name]);
  let destroyed = false;
  const net: LabNetwork = {
    name,
    addTap: async (tap) => {
      await ip(['-n', name, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      await ip(['-n', name, 'link', 'set', tap, 'master', LAB_BRIDGE, 'up']);
    },
    exec: (argv) => ['ip', 'netns', 'exec', name, ...argv],
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await execa('ip', ['netns', 'del', name], { reject: false });
    },
  };
  try {
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    await ip(['-n', name, 'link', 'add', LAB_BRIDGE, 'type', 'bridge']);
    // No STP and no forwarding delay: a guest's first DHCP packets must not be dropped while
    // the port is "learning" (the Linux bridge default would hold them 15 s).
    await ip(['-n', name, 'link', 'set', LAB_BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await ip(['-n', name, 'addr', 'add', `${LAB_SERVER_IP}/${LAB_PREFIX}`, 'dev', LAB_BRIDGE]);
    await ip(['-n', name, 'link', 'set', LAB_BRIDGE, 'up']);
  } catch (error) {
    await net.destroy();
    throw error;
  }
  return net;
}
