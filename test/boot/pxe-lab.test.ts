// The real netboot chain, booted: `ramboot lab` puts dnsmasq and nginx (on the configs `ramboot
// config` writes) in a network namespace with a bridge; QEMU guests on taps PXE-boot with QEMU's
// iPXE ROM, chain boot.ipxe, load vmlinuz and initrd.img over HTTP, and the ram script fetches
// rootfs.squashfs from nginx. Each test asserts from the guest's console that the real init ran
// and how the network came up, and from dnsmasq's and nginx's logs who served what. The lab must
// leave nothing behind: no namespace (so no bridge or tap) and no process, after a normal run and
// after Ctrl-C mid-boot. With CI=true a missing QEMU, dnsmasq or nginx fails, never skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OVMF_CODE } from '../../src/lab/pxe-lab/guest.ts';
import { listNamespaces } from '../../src/lab/pxe-lab/netns.ts';
import { labMac, startLab, type Lab } from '../../src/lab/pxe-lab/run-lab.ts';
import { buildSet, type BuiltSet } from './image-set.ts';
import { assertRealInit } from './lab-asserts.ts';
import { skipLab } from './lab-skip.ts';

const skip = skipLab;

const skipWithoutOvmf = existsSync(OVMF_CODE) || process.env.CI === 'true' ? false : `${OVMF_CODE} missing (apt-get install ovmf)`;
const BOOT_MS = 240_000;
let set: BuiltSet;
let rootBytes: number;

before(async () => {
  if (skip) return;
  set = await buildSet('pxe-lab');
  rootBytes = statSync(join(set.out, 'rootfs.squashfs')).size;
});

after(() => set?.cleanup());

/** Processes in the namespace now (ip netns pids). */
function namespacePids(ns: string): number[] {
  return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
}

/** The pid is gone, or is another program now (pids are reused). */
function gone(pid: number, cmdline: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== cmdline;
  } catch {
    return true;
  }
}

async function assertLeftNothing(ns: string, pids: Map<number, string>, stateDir: string): Promise<void> {
  assert.ok(!(await listNamespaces()).includes(ns), `namespace ${ns} is gone`);
  for (const [pid, cmdline] of pids) assert.ok(gone(pid, cmdline), `process ${pid} (${cmdline.replaceAll('\0', ' ').slice(0, 60)}) is gone`);
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
  assert.doesNotMatch(links, /rbbr0|rbtap\d/, 'no lab bridge or tap in the host namespace');
  assert.ok(!existsSync(stateDir), `state directory ${stateDir} removed`);
}

function pidsWithCmdline(ns: string): Map<number, string> {
  const pids = new Map<number, string>();
  for (const pid of namespacePids(ns)) {
    try {
      pids.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Boot the lab's guests to the marker init; return every console. */
async function bootAll(lab: Lab): Promise<string[]> {
  await Promise.all(lab.guests.map((g) => g.waitFor(/RAMBOOT-DONE/, BOOT_MS)));
  return lab.guests.map((g) => g.output());
}


/** The access log lines of the generated log format `ramboot`. */
function accessLog(lab: Lab): { ip: string; request: string; status: number; bytes: number; range: string; ua: string }[] {
  return readFileSync(lab.accessLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\S+) "([^"]*)" (\d+) (\d+) range="([^"]*)" ua="([^"]*)"$/.exec(line);
      assert.ok(m, `access log line in the generated format: ${line}`);
      return { ip: m[1]!, request: m[2]!, status: Number(m[3]), bytes: Number(m[4]), range: m[5]!, ua: m[6]! };
    });
}

test('two clients PXE-boot at once: firmware iPXE, lease from dnsmasq, kernel/initrd/rootfs from nginx, real init; nothing left after', { skip }, async () => {
  const lab = await startLab({ setDir: set.out, clients: 2 });
  let pids = new Map<number, string>();
  try {
    pids = pidsWithCmdline(lab.namespace);
    assert.ok(pids.size >= 4, `dnsmasq, nginx and two QEMUs run in the namespace: ${[...pids.values()].map((c) => c.split('\0')[0]).join(', ')}`);
    const outputs = await bootAll(lab);
    const leases = readFileSync(lab.dnsmasqLog, 'utf8');
    const log = accessLog(lab);
    const addresses = new Set<string>();
    outputs.forEach((output, i) => {
      assertRealInit(output, 'pxe-lab');
      const mac = labMac(i + 1, 1);
      // The firmware's iPXE got its lease and the script URL from dnsmasq, then chained it.
      assert.match(output, new RegExp(`Configuring \\(net0 ${mac}\\)`));
      assert.match(output, /Filename: http:\/\/10\.77\.0\.1\/boot\.ipxe/);
      assert.match(output, new RegExp(`BOOTIF=01-${mac.replaceAll(':', '-')}`), 'iPXE expanded ${netX/mac} into the command line');
      const net = /ramboot: net: eth0 (10\.77\.0\.\d+)\/24 \(dhcp\)/.exec(output);
      assert.ok(net, `the ram script's own DHCP lease on eth0:\n${output.slice(-3000)}`);
      const ip = net[1]!;
      addresses.add(ip);
      assert.match(leases, new RegExp(`DHCPACK\\(rbbr0\\) ${ip.replaceAll('.', '\\.')} ${mac}`), 'that lease came from dnsmasq');
      assert.match(output, /ramboot: fetch: [\d.]+ MiB from http:\/\/10\.77\.0\.1\/rootfs\.squashfs/);
      assert.match(output, new RegExp(`ramboot: verify: sha256 ${set.rootSha} matches`));
      const mine = log.filter((l) => l.ip === ip);
      assert.ok(mine.some((l) => l.request === 'GET /boot.ipxe HTTP/1.1' && l.status === 200 && /iPXE/.test(l.ua)), 'iPXE fetched boot.ipxe from nginx');
      assert.ok(mine.some((l) => l.request === 'GET /vmlinuz HTTP/1.1' && l.status === 200), 'iPXE fetched vmlinuz from nginx');
      assert.ok(mine.some((l) => l.request === 'GET /initrd.img HTTP/1.1' && l.status === 200), 'iPXE fetched initrd.img from nginx');
      const rootGets = mine.filter((l) => l.request === 'GET /rootfs.squashfs HTTP/1.1' && l.ua.startsWith('Wget'));
      // nginx logs an absent header as "-".
      assert.ok(rootGets.some((l) => l.status === 200 && l.bytes === rootBytes && l.range === '-'), `busybox wget got the whole rootfs.squashfs from nginx: ${JSON.stringify(rootGets)}`);
    });
    assert.equal(addresses.size, 2, 'each client its own lease');
  } finally {
    await lab.close();
  }
  await assertLeftNothing(lab.namespace, pids, lab.stateDir);
});

test('static ip= in the kernel\'s full form (client:server:gw:netmask:host:dev:autoconf:dns0:dns1)', { skip }, async () => {
  const lab = await startLab({ setDir: set.out, append: 'ip=10.77.0.50:10.77.0.1:10.77.0.1:255.255.255.0:labhost:eth0:off:10.77.0.1:10.77.0.2' });
  try {
    const [output] = await bootAll(lab);
    assertRealInit(output!, 'pxe-lab');
    assert.match(output!, /ramboot: net: eth0 10\.77\.0\.50\/24 via 10\.77\.0\.1 dns 10\.77\.0\.1 10\.77\.0\.2 host labhost \(static\)/);
    assert.ok(accessLog(lab).some((l) => l.ip === '10.77.0.50' && l.request === 'GET /rootfs.squashfs HTTP/1.1' && l.status === 200), 'nginx served the rootfs to the static address');
  } finally {
    await lab.close();
  }
});

test('UEFI (OVMF) with iPXE\'s EFI ROM; static ip= in the short form (client::gw:netmask, no device: the first NIC)', { skip: skip || skipWithoutOvmf }, async () => {
  const lab = await startLab({ setDir: set.out, firmware: 'uefi', append: 'ip=10.77.0.51::10.77.0.1:255.255.255.0' });
  try {
    const [output] = await bootAll(lab);
    assertRealInit(output!, 'pxe-lab');
    assert.match(output!, /^Features: .*\bEFI\b/m, 'the NIC ROM ran as iPXE\'s EFI build');
    assert.match(output!, /efi: EFI v[\d.]+ by EDK II/, 'the kernel was started by OVMF');
    assert.match(output!, /Filename: http:\/\/10\.77\.0\.1\/boot\.ipxe/);
    assert.match(output!, /ramboot: net: eth0 10\.77\.0\.51\/24 via 10\.77\.0\.1 \(static\)/);
    assert.ok(accessLog(lab).some((l) => l.ip === '10.77.0.51' && l.request === 'GET /rootfs.squashfs HTTP/1.1' && l.status === 200));
  } finally {
    await lab.close();
  }
});

test('two NICs: BOOTIF= from iPXE makes the ram script use the NIC that PXE-booted, not the first one', { skip }, async () => {
  const lab = await startLab({ setDir: set.out, extraNic: true });
  try {
    const [output] = await bootAll(lab);
    assertRealInit(output!, 'pxe-lab');
    const bootMac = labMac(1, 1);
    assert.match(output!, new RegExp(`BOOTIF=01-${bootMac.replaceAll(':', '-')}`));
    // eth0 is the isolated NIC (QEMU's restricted user network, whose own DHCP would give 10.0.2.15).
    assert.match(output!, /ramboot: net: eth1 10\.77\.0\.\d+\/24 \(dhcp\)/);
    assert.doesNotMatch(output!, /10\.0\.2\.15/);
    assert.match(readFileSync(lab.dnsmasqLog, 'utf8'), new RegExp(`DHCPACK\\(rbbr0\\) 10\\.77\\.0\\.\\d+ ${bootMac}`));
  } finally {
    await lab.close();
  }
});

test('Ctrl-C during the boot: ramboot lab removes the namespace, bridge, taps and every process', { skip }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'lab', '--set', set.out, '--timeout', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Mid-boot: iPXE has handed over to the kernel, which is loading its initrd.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no kernel start within 180 s:\n${stdout.slice(-2000)}\n${stderr}`)), 180_000);
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (/\[client1\] .*Run \/init as init process/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const m = /namespace (\S+), server \S+, state in (\S+)/.exec(stderr);
  assert.ok(m, stderr);
  const [, ns, stateDir] = m;
  const pids = pidsWithCmdline(ns!);
  assert.ok([...pids.values()].some((c) => c.startsWith('qemu-system-x86_64')), 'the guest runs when the signal comes');
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.match(stderr, /ramboot lab: SIGINT: removing the lab/);
  await assertLeftNothing(ns!, pids, stateDir!);
});
