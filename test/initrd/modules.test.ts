// Module selection on a fake kernel: force-loads, firmware (plain, .zst, .xz, missing),
// --host-only against a fake machine, and --explain. The modules are tiny ELF files whose only
// content is a .modinfo section, so each test gives them the aliases, depends= and firmware= it
// needs; there is no modules.dep, so everything comes from .modinfo, as for a bare .deb unpack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addModules, renderModuleReport, type ModuleReport, type ModuleSelection } from '../../src/initrd/add-modules.ts';
import { buildInitrd } from '../../src/initrd/build-initrd.ts';
import { InitrdPlan } from '../../src/initrd/plan.ts';
import { parseHook, type Hook } from '../../src/hooks/hook.ts';
import { isDeviceDriver, sysfsModaliasProbe } from '../../src/kmod/host-probe.ts';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';
import { KVER, makeFakeRoot, SHIPPED_HOOK_MODULES, writeRootFile } from './fake-root.ts';

const NIC_A = 'pci:v0000AAAAd0000BBBBsv0000AAAAsd00000001bc02sc00i00';
const NIC_C = 'pci:v0000CCCCd0000DDDDsv0000CCCCsd00000001bc02sc00i00';

let work: string;
let root: string;
let firmware: Record<string, Buffer>;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-modules-'));
  root = join(work, 'root');
  makeFakeRoot(
    root,
    [
      { path: 'kernel/drivers/net/fwcore.ko' },
      { path: 'kernel/drivers/net/fwnic.ko.xz', depends: ['fwcore'], aliases: ['pci:v0000AAAAd0000BBBBsv*sd*bc*sc*i*'], firmware: ['acme/plain.bin', 'acme/packed-zst.bin', 'acme/packed-xz.bin', 'acme/usr.bin', 'acme/missing.bin', 'acme/missing-too.bin'] },
      { path: 'kernel/drivers/net/othernic.ko', aliases: ['pci:v0000CCCCd*sv*sd*bc*sc*i*'] },
      { path: 'kernel/fs/myfs/myfs.ko.zst', aliases: ['fs-myfs'] },
      // What the shipped hooks require, for the buildInitrd test.
      ...SHIPPED_HOOK_MODULES,
    ],
    ['kernel/net/packet/af_packet.ko'],
  );
  firmware = {
    plain: writeRootFile(root, 'lib/firmware/acme/plain.bin', 'plain firmware\n'),
    zst: writeRootFile(root, 'lib/firmware/acme/packed-zst.bin.zst', 'zstd firmware\n'.repeat(50), 'zst'),
    xz: writeRootFile(root, 'lib/firmware/acme/packed-xz.bin.xz', 'xz firmware\n'.repeat(50), 'xz'),
    usr: writeRootFile(root, 'usr/lib/firmware/acme/usr.bin', 'merged-/usr firmware\n'),
  };
});
after(() => rmSync(work, { recursive: true, force: true }));

const HOOKS: Hook[] = [
  parseHook('base', JSON.stringify({ description: 'd', forceLoad: ['zram', 'af_packet'], modules: ['myfs'] })),
  parseHook('nics', JSON.stringify({ description: 'd', optionalModules: ['fwnic', 'othernic', 'nosuchnic'] })),
];

async function pack(selection: ModuleSelection = {}, hooks = HOOKS) {
  const plan = new InitrdPlan();
  let report: ModuleReport | undefined;
  const packed = await addModules(plan, root, join(root, 'lib/modules', KVER), hooks, { ...selection, onModuleReport: (r) => (report = r) });
  return { plan, packed, report: report! };
}

function fileContent(plan: InitrdPlan, path: string): Buffer | undefined {
  const content = plan.get(path)?.content;
  if (content?.kind === 'file') return content.data;
  if (content?.kind === 'disk-file') return readFileSync(content.path);
  return undefined;
}

test('hook.json: forceLoad entries are required modules too; optional and force-loaded at once is an error', () => {
  const hook = parseHook('h', '{"description":"d","forceLoad":["zram"],"modules":["loop"],"optionalModules":["lz4"]}');
  assert.deepEqual(hook.forceLoad, ['zram']);
  assert.deepEqual(hook.modules, ['loop', 'zram']);
  assert.throws(() => parseHook('h', '{"description":"d","forceLoad":["lz4"],"optionalModules":["lz4"]}'), /hooks\/h\/hook.json: lz4 is both optional and force-loaded/);
  assert.throws(() => parseHook('h', '{"description":"d","forceLoad":"zram"}'), /"forceLoad" must be a list/);
});

test('force-loads: only the named loadable modules, in load order; dependencies come through modules.dep, built-ins need nothing', async () => {
  const { packed, plan } = await pack();
  assert.deepEqual(packed.forceLoad, ['zram']);
  assert.deepEqual(packed.builtin, [{ name: 'af_packet', reasons: ['hook base (force-load): af_packet'] }]);
  const names = packed.resolution.modules.map((m) => m.info.name);
  assert.ok(names.includes('zsmalloc') && names.indexOf('zsmalloc') < names.indexOf('zram'));
  const dep = fileContent(plan, `lib/modules/${KVER}/modules.dep`)!.toString();
  assert.match(dep, /^kernel\/drivers\/block\/zram\/zram\.ko: kernel\/drivers\/block\/zram\/zsmalloc\.ko$/m);
  // Device drivers are packed with their aliases, for coldplug; compressed modules go in plain.
  const alias = fileContent(plan, `lib/modules/${KVER}/modules.alias`)!.toString();
  assert.match(alias, /^alias pci:v0000AAAAd0000BBBBsv\*sd\*bc\*sc\*i\* fwnic$/m);
  assert.equal(fileContent(plan, `lib/modules/${KVER}/kernel/drivers/net/fwnic.ko`)!.subarray(0, 4).toString('hex'), '7f454c46');
});

test('firmware: plain, .zst and .xz files of the root go in as plain files under /lib/firmware; a missing one is a warning naming module and file', async () => {
  const { plan, packed, report } = await pack();
  assert.deepEqual(fileContent(plan, 'lib/firmware/acme/plain.bin'), firmware.plain);
  assert.deepEqual(fileContent(plan, 'lib/firmware/acme/packed-zst.bin'), firmware.zst);
  assert.deepEqual(fileContent(plan, 'lib/firmware/acme/packed-xz.bin'), firmware.xz);
  assert.deepEqual(fileContent(plan, 'lib/firmware/acme/usr.bin'), firmware.usr);
  assert.equal(plan.has('lib/firmware/acme/packed-zst.bin.zst'), false);
  assert.deepEqual(packed.warnings, ["firmware for module fwnic is not in the root's /lib/firmware: acme/missing.bin, acme/missing-too.bin"]);
  assert.deepEqual(packed.firmware.sort(), ['lib/firmware/acme/packed-xz.bin', 'lib/firmware/acme/packed-zst.bin', 'lib/firmware/acme/plain.bin', 'lib/firmware/acme/usr.bin']);
  assert.deepEqual(report.modules.find((m) => m.name === 'fwnic')?.firmware, [
    { name: 'acme/plain.bin', file: 'lib/firmware/acme/plain.bin' },
    { name: 'acme/packed-zst.bin', file: 'lib/firmware/acme/packed-zst.bin' },
    { name: 'acme/packed-xz.bin', file: 'lib/firmware/acme/packed-xz.bin' },
    { name: 'acme/usr.bin', file: 'lib/firmware/acme/usr.bin' },
    { name: 'acme/missing.bin' },
    { name: 'acme/missing-too.bin' },
  ]);
});

test('--host-only keeps the device drivers a device of the machine matches, and everything that drives no device', async () => {
  const machine = async () => [NIC_A, 'acpi:PNP0303:', 'cpu:type:x86,ven0000fam0006mod003F:feature:,0000'];
  const { packed, report } = await pack({ hostOnly: true, hostProbe: machine });
  const names = packed.resolution.modules.map((m) => m.info.name).sort();
  assert.deepEqual(names, ['fwcore', 'fwnic', 'myfs', 'zram', 'zsmalloc']);
  assert.deepEqual(packed.notOnHost, [{ name: 'othernic', reason: 'hook nics (if present)' }]);
  assert.deepEqual(report.modules.find((m) => m.name === 'fwnic')?.reasons, [`hook nics (if present), device ${NIC_A}: fwnic`]);
  assert.equal(report.hostModaliases, 3);
  // --modules is deliberate: kept without a device.
  const cli = await pack({ hostOnly: true, hostProbe: machine, add: ['othernic'] });
  assert.ok(cli.packed.resolution.modules.some((m) => m.info.name === 'othernic'));
});

test('--host-only splits a directory request into the drivers the machine has', async () => {
  const hooks = [parseHook('dir', JSON.stringify({ description: 'd', optionalModules: ['kernel/drivers/net/'] }))];
  const { packed } = await pack({ hostOnly: true, hostProbe: async () => [NIC_C] }, hooks);
  assert.deepEqual(packed.resolution.modules.map((m) => m.info.name).sort(), ['fwcore', 'othernic']);
  assert.deepEqual(packed.notOnHost, [{ name: 'fwnic', reason: 'hook dir (if present): kernel/drivers/net/' }]);
});

test('the sysfs probe reads every bus device\'s modalias once, and device drivers are told from the rest by their aliases', async () => {
  const sys = join(work, 'sys');
  writeRootFile(sys, 'bus/pci/devices/0000:00:03.0/modalias', `${NIC_A}\n`);
  writeRootFile(sys, 'bus/cpu/devices/cpu0/modalias', 'cpu:type:x86\n');
  writeRootFile(sys, 'bus/cpu/devices/cpu1/modalias', 'cpu:type:x86\n');
  writeRootFile(sys, 'bus/platform/devices/serial8250/uevent', 'DRIVER=serial8250\n');
  assert.deepEqual(await sysfsModaliasProbe(sys)(), ['cpu:type:x86', NIC_A]);
  await assert.rejects(sysfsModaliasProbe(join(work, 'nosys'))(), /cannot list .*nosys\/bus: ENOENT/);
  assert.equal(isDeviceDriver({ aliases: ['pci:v00008086d0000100Esv*sd*bc*sc*i*'] }), true);
  assert.equal(isDeviceDriver({ aliases: ['acpi*:PNP0303:*'] }), true);
  assert.equal(isDeviceDriver({ aliases: ['fs-ext4', 'ext3', 'fs-ext3'] }), false);
  assert.equal(isDeviceDriver({ aliases: ['devname:loop-control', 'char-major-10-237', 'block-major-7-*'] }), false);
  assert.equal(isDeviceDriver({ aliases: [] }), false);
});

test('--explain names each module\'s reasons and firmware, the built-ins and the absent optional ones', async () => {
  const { report } = await pack();
  const text = renderModuleReport(report);
  assert.match(text, /^kernel 9\.9\.9-test: 6 modules packed \(dependencies from modinfo\)$/m);
  assert.match(text, /^force-loaded at boot: zram;/m);
  assert.match(text, /^zram \[force-load\]  kernel\/drivers\/block\/zram\/zram\.ko\n {4}hook base \(force-load\): zram$/m);
  assert.match(text, /^zsmalloc  kernel\/drivers\/block\/zram\/zsmalloc\.ko\n {4}dependency of zram$/m);
  assert.match(text, /^fwnic  kernel\/drivers\/net\/fwnic\.ko\n {4}hook nics \(if present\): fwnic\n {4}firmware \/lib\/firmware\/acme\/plain\.bin$/m);
  assert.match(text, /^ {4}firmware acme\/missing\.bin \(not in the root\)$/m);
  assert.match(text, /^built into the kernel \(nothing to pack\):\n {4}af_packet: hook base \(force-load\): af_packet$/m);
  assert.match(text, /^not in this kernel \(optional\):\n {4}nosuchnic: hook nics \(if present\)$/m);
});

test('the built initrd carries RAM_FORCE_LOAD (not the whole packed list), and the CLI explains, also as JSON', async () => {
  const out = join(work, 'initrd.img');
  const result = await buildInitrd({ root, out, compression: 'none' });
  const entries = new Map(decodeNewc(readFileSync(out)).map((e) => [e.path, e]));
  const conf = entries.get('etc/ram.conf')!.data!.toString();
  assert.match(conf, /^RAM_FORCE_LOAD='loop lzo_rle overlay squashfs zram'$/m);
  assert.doesNotMatch(conf, /^RAM_MODULES=/m);
  assert.ok(result.modules.length > 0);

  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'initrd', '--root', root, '-o', join(work, 'cli.img'), ...args], { encoding: 'utf8' });
  const text = cli('--explain', '--modules', 'fwnic');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^zram \[force-load\]  kernel\/drivers\/block\/zram\/zram\.ko$/m);
  assert.match(text.stdout, /cli\.img: .* kernel 9\.9\.9-test, \d+ modules/);
  assert.match(text.stderr, /^ramboot: warning: firmware for module fwnic is not in the root's \/lib\/firmware: acme\/missing\.bin, acme\/missing-too\.bin$/m);
  const json = cli('--explain', '--json');
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { kver: string; explain: ModuleReport };
  assert.equal(parsed.kver, KVER);
  assert.deepEqual(parsed.explain.forceLoad, ['loop', 'lzo_rle', 'overlay', 'squashfs', 'zram']);
});
