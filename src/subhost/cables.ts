// The subhost's network namespace and its "cables": veth pairs whose host end NAME<i> joins a
// host bridge and whose other end is eth<i> inside the namespace, as overlay-boot(8) wires them.
// The namespace is made with `ip netns add NAME`, so it is named and visible to `ip netns`
// (ip-netns(8): a bind mount at /run/netns/NAME). Deleting the namespace destroys every eth<i>,
// and a veth pair dies with either end (veth(4)), so the host ends go with it.
import { access } from 'node:fs/promises';
import { runTool } from '../util/run-tool.js';
import type { Cable } from './config.js';

export const netnsPath = (name: string) => `/run/netns/${name}`;

export async function linkExists(ifname: string): Promise<boolean> {
  return runTool('ip', ['link', 'show', 'dev', ifname]).then(() => true, () => false);
}

export async function createNetns(name: string): Promise<void> {
  await runTool('ip', ['netns', 'add', name]);
  await runTool('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Plug every cable; `onWarning` hears about an `ifup` of a bridgeless host end that failed
 * (ifupdown may simply have no stanza for it, which overlay-boot also tolerates). */
export async function plugCables(name: string, cables: readonly Cable[], onWarning: (line: string) => void): Promise<string[]> {
  const hostEnds: string[] = [];
  for (const [i, cable] of cables.entries()) {
    const host = `${name}${i}`;
    const inner = `eth${i}`;
    await runTool('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', inner, 'netns', name]);
    hostEnds.push(host);
    if (cable.mac) await runTool('ip', ['-n', name, 'link', 'set', 'dev', inner, 'address', cable.mac]);
    if (cable.bridge) {
      await runTool('ip', ['link', 'set', 'dev', host, 'master', cable.bridge, 'up']);
    } else {
      await runTool('ip', ['link', 'set', 'dev', host, 'up']);
      const ifup = await access('/sbin/ifup').then(() => '/sbin/ifup', () => undefined);
      if (ifup) await runTool(ifup, [host]).catch((e: Error) => onWarning(`ifup ${host}: ${e.message}`));
    }
  }
  return hostEnds;
}

/** Remove the namespace and any host end still there; safe to call on a half-made subhost. */
export async function unplugAll(name: string, hostEnds: readonly string[]): Promise<void> {
  for (const host of hostEnds) {
    if (await linkExists(host)) await runTool('ip', ['link', 'del', 'dev', host]).catch(() => undefined);
  }
  const made = await access(netnsPath(name)).then(() => true, () => false);
  if (made) await runTool('ip', ['netns', 'del', name]);
}
