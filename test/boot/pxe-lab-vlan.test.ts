// vlan= in the real chain: `ramboot lab --vlan 5`. The host kernel has no 8021q and no VLAN
// filtering bridge, so the tagged network is a QEMU socket network on the lab namespace's own
// loopback between the client's second NIC and a peer guest (lab-vlan.ts) that serves DHCP and
// the rootfs only on VLAN 5. The client PXE-boots from the lab's dnsmasq/iPXE/nginx on its first
// NIC; its ram script (set built with --hook vlan) brings up eth1.5, takes the peer's lease and
// fetches the image from the peer. The untagged lab network could not have served that address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseInitMarkers } from '../../src/lab/demo-root.ts';
import { listNamespaces } from '../../src/lab/pxe-lab/netns.ts';
import { startLab } from '../../src/lab/pxe-lab/run-lab.ts';
import { buildSet, type BuiltSet } from './image-set.ts';
import { skipLab } from './lab-skip.ts';

const skip = skipLab;

const BOOT_MS = 300_000;
let set: BuiltSet;

before(async () => {
  if (skip) return;
  set = await buildSet('pxe-lab-vlan', undefined, ['--hook', 'vlan']);
});
after(() => set?.cleanup());

test('vlan=eth1.5:eth1: PXE from the lab, DHCP and the rootfs over VLAN 5 from the peer, real init', { skip }, async (t) => {
  const lab = await startLab({ setDir: set.out, vlan: 5 });
  try {
    const peer = lab.vlanPeer!;
    assert.match(peer.output(), /eth0\.5\s+\| 5\s+\| eth0/, 'the peer tagged eth0.5 (its /proc/net/vlan/config)');
    const guest = lab.guests[0]!;
    await guest.waitFor(/RAMBOOT-DONE/, BOOT_MS);
    const output = guest.output();
    for (const line of output.split('\n').filter((l) => /ramboot: (net|fetch|stage net)/.test(l))) t.diagnostic(line);
    assert.match(output, /Filename: http:\/\/10\.77\.0\.1\/boot\.ipxe/, 'the client PXE-booted from the lab');
    assert.match(output, /ramboot: net: VLAN 5 on eth1 as eth1\.5/);
    assert.match(output, /ramboot: net: eth1\.5 10\.55\.0\.1\d\d\/24 \(dhcp\)/, 'the lease on the VLAN interface, from the peer');
    assert.match(output, /ramboot: fetch: [\d.]+ MiB from http:\/\/10\.55\.0\.1\/rootfs\.squashfs/);
    assert.match(output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));
    const m = parseInitMarkers(output);
    assert.ok(m.done, `init did not finish:\n${output.slice(-3000)}`);
    assert.equal(m.pid, 1, 'the real init runs as PID 1');
    assert.doesNotMatch(output, /ramboot: error:/);
    // The peer's busybox httpd (-vv) logged the client's GET, from its VLAN address.
    assert.match(peer.output(), /10\.55\.0\.1\d\d:\d+: url:\/rootfs\.squashfs/);
  } finally {
    await lab.close();
  }
  assert.ok(!(await listNamespaces()).includes(lab.namespace), 'the lab namespace is gone');
});

test('ramboot lab --vlan refuses an id outside 1..4094 before creating anything', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'lab', '--set', '/nonexistent', '--vlan', '4095'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--vlan 4095 is not a VLAN id \(hint: give 1 to 4094\)/);
});
