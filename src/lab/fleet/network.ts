// The fleet's network: the lab's bridge namespace (pxe-lab/netns.ts) as the switch, and one
// network namespace per node (origin, each caching proxy, each simulated client, each QEMU
// guest's user-net) joined to it by a veth pair: `eth0` inside the node, `fv<n>` on the bridge.
// A node's egress can be shaped with tc tbf (the hosts' kernels have no netem; docs/facts.md).
// Every name starts with the lab's `ramboot-lab-<pid>-` prefix, so a fleet killed with SIGKILL
// is swept by removeStaleLabNamespaces() like a lab; destroy() deletes the nodes, then the
// bridge namespace (a veth goes with the namespace that holds either end).
import { execa } from 'execa';
import { toolError } from '../../errors.js';
import { createLabNetwork, labNamespaceName, removeStaleLabNamespaces, LAB_BRIDGE, LAB_PREFIX, type LabNetwork } from '../pxe-lab/netns.js';

export interface FleetNode extends LabNetwork {
  /** Its address on the bridge, e.g. 10.77.0.2. */
  ip: string;
  /** eth0's MAC address. */
  mac: string;
}

export interface FleetNetwork {
  bridge: LabNetwork;
  /** A namespace with eth0 at 10.77.0.<host>/24 on the bridge. */
  addNode(name: string, host: number): Promise<FleetNode>;
  /** Shape the node's egress (what it sends) to `mbit` Mbit/s with tc tbf. */
  shape(node: FleetNode, mbit: number): Promise<void>;
  /** Delete every node and the bridge namespace. Safe to call twice. */
  destroy(): Promise<void>;
}

async function run(argv: string[]): Promise<string> {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false });
  if (r.exitCode !== 0) throw toolError(`${argv.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`, 'the fleet needs root, iproute2 and tc');
  return r.stdout;
}

export async function createFleetNetwork(tag: string): Promise<FleetNetwork> {
  await removeStaleLabNamespaces();
  const bridge = await createLabNetwork(labNamespaceName(`${tag}-br`));
  const nodes: FleetNode[] = [];
  let destroying: Promise<void> | undefined;
  const deleteNs = (name: string) => execa('ip', ['netns', 'del', name], { reject: false });
  return {
    bridge,
    addNode: async (name, host) => {
      const ns = labNamespaceName(`${tag}-${name}`);
      const outside = `fv${host}`;
      const ip = `10.77.0.${host}`;
      await run(['ip', 'netns', 'add', ns]);
      let deleted = false;
      const node: FleetNode = {
        name: ns,
        ip,
        mac: '',
        addTap: () => Promise.reject(new Error('a fleet node has no taps')),
        exec: (argv) => ['ip', 'netns', 'exec', ns, ...argv],
        destroy: async () => {
          if (deleted) return;
          deleted = true;
          await deleteNs(ns);
        },
      };
      nodes.push(node);
      await run(['ip', '-n', bridge.name, 'link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await run(['ip', '-n', bridge.name, 'link', 'set', outside, 'master', LAB_BRIDGE, 'up']);
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await run(['ip', '-n', ns, 'addr', 'add', `${ip}/${LAB_PREFIX}`, 'dev', 'eth0']);
      await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      node.mac = /link\/ether ([0-9a-f:]{17})/.exec(await run(['ip', '-n', ns, 'link', 'show', 'eth0']))?.[1] ?? '';
      return node;
    },
    shape: async (node, mbit) => {
      // tbf needs a bucket of at least one timer tick of traffic (rate / HZ, HZ <= 1000) and
      // one full-size GSO packet (64 KiB), or it drops what it cannot ever send.
      const burst = Math.max(Math.ceil((mbit * 1e6) / 8 / 100), 128 * 1024);
      await run(['ip', 'netns', 'exec', node.name, 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', String(burst), 'latency', '200ms']);
    },
    destroy: () =>
      (destroying ??= (async () => {
        await Promise.all(nodes.map((n) => n.destroy()));
        await bridge.destroy();
      })()),
  };
}
