// Boots on NICs other than virtio: an image set built with the CLI around Debian's GENERIC
// kernel (which has e1000 and e1000e as modules; the cloud kernel has neither) boots in QEMU
// (TCG) with an emulated Intel NIC, and the boot's coldplug loads that NIC's driver, and not the
// other's, from its PCI modalias. The rootfs leaves out lib/modules (~400 MB that this init
// never needs), which keeps the build to seconds. With CI=true a missing QEMU fails, never skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel } from '../../src/lab/debian-kernel.ts';
import { makeDemoRoot, parseInitMarkers } from '../../src/lab/demo-root.ts';
import { startHttpServer } from '../../src/lab/http-server.ts';
import { bootQemu } from '../../src/lab/qemu.ts';
import { skipWithoutQemu } from '../support/require-tool.ts';

const skip = skipWithoutQemu();

let work: string;
let out: string;
let server: Awaited<ReturnType<typeof startHttpServer>>;
let cmdline: string;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'ramboot-nics-'));
  const kernel = await fetchDebianKernel('amd64');
  const root = await makeDemoRoot({ dir: join(work, 'root'), kernel, stamp: 'nics-test' });
  const excludes = join(work, 'no-modules.exclude');
  writeFileSync(excludes, '# the initrd carries the modules the boot needs; the marker init needs none\n/lib/modules/\n');
  out = join(work, 'out');
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'build', '--root', root, '--out', out, '--exclude-file', excludes], {
    stdio: ['ignore', 'inherit', 'ignore'], // stderr: a warning per NIC driver whose firmware the demo root lacks
  });
  cmdline = readFileSync(join(out, 'cmdline.txt'), 'utf8').trim();
  server = await startHttpServer(out);
});

after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The modules the boot's modules stage reports having loaded. */
function loadedModules(output: string): string[] {
  const line = /ramboot: modules: loaded (.*) \(\d+ devices, \d+ coldplug rounds\)/.exec(output);
  assert.ok(line, `no modules line in:\n${output.slice(-3000)}`);
  return line[1]!.split(' ');
}

for (const [nic, driver, other] of [
  ['e1000', 'e1000', 'e1000e'],
  ['e1000e', 'e1000e', 'e1000'],
] as const) {
  test(`QEMU ${nic}: coldplug loads ${driver} (and not ${other}), DHCP works and the real init runs`, { skip }, async () => {
    const result = await bootQemu({
      kernel: join(out, 'vmlinuz'),
      initrd: join(out, 'initrd.img'),
      append: `${cmdline} console=ttyS0 rooturl=${server.url('/rootfs.squashfs')}`,
      nic,
      memoryMiB: 1024,
      until: /RAMBOOT-DONE/,
      timeoutMs: 180_000,
    });
    const m = parseInitMarkers(result.output);
    assert.ok(m.done, `init did not finish:\n${result.output.slice(-3000)}`);
    assert.equal(m.pid, 1, 'the real init runs as PID 1');
    assert.equal(m.image, 'nics-test');
    const loaded = loadedModules(result.output);
    assert.ok(loaded.includes(driver), `${driver} loaded: ${loaded.join(' ')}`);
    assert.ok(!loaded.includes(other), `${other} not loaded without its device: ${loaded.join(' ')}`);
    assert.ok(!loaded.includes('virtio_net'), 'no virtio NIC, no virtio_net');
    assert.match(result.output, /ramboot: net: eth0 10\.0\.2\.15\/24 via 10\.0\.2\.2 .*\(dhcp\)/);
  });
}
