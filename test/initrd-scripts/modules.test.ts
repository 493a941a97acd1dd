// The modules stage: force-loads from /etc/ram.conf, then coldplug over a fake /sys/bus. The
// modprobe stub plays the kernel: loading a driver binds its device (a `driver` link), lists the
// module in /proc/modules and may add the devices the driver brings (virtio_pci -> virtio0).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, errorLines, type SandboxOptions } from './harness.ts';

const sandboxes: Sandbox[] = [];
after(() => sandboxes.forEach((s) => s.cleanup()));
function sandbox(opts: SandboxOptions = {}, forceLoad = ''): Sandbox {
  const sb = new Sandbox({ ...opts, conf: opts.conf ?? { facts: { KVER: opts.osrelease ?? '6.1.0-test', FORCE_LOAD: forceLoad } } });
  sandboxes.push(sb);
  return sb;
}

const VIRTIO_NET_PCI = 'pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00';
const HOST_BRIDGE = 'pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00';
const IDE = 'pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80';
const CPU = 'cpu:type:x86,ven0000fam0006mod003F:feature:,0000,0001,0002,0003';
const VIRTIO_NET = 'virtio:d00000001v00001AF4';

/** A device on a bus of the fake sysfs, optionally bound to a driver already. */
function device(sb: Sandbox, bus: string, name: string, modalias: string | undefined, driver?: string): void {
  const dir = `sys/bus/${bus}/devices/${name}`;
  if (modalias === undefined) sb.write(`${dir}/uevent`, '');
  else sb.write(`${dir}/modalias`, `${modalias}\n`);
  if (driver) sb.write(`${dir}/driver/name`, `${driver}\n`);
}

/** A modprobe stand-in: for each modalias of `drivers` it was given, binds the devices that have
 * it, lists the module in /proc/modules (newest first, as the kernel does) and runs `then`. */
function fakeKernel(sb: Sandbox, drivers: Record<string, { module: string; then?: string }>): void {
  const cases = Object.entries(drivers)
    .map(
      ([alias, d]) => `'${alias}')
    for m in "$RAM_PREFIX"/sys/bus/*/devices/*/modalias; do
      [ "$(cat "$m")" = '${alias}' ] && mkdir -p "\${m%/modalias}/driver"
    done
    { echo '${d.module} 16384 0 - Live 0x0'; cat "$RAM_PREFIX/proc/modules" 2>/dev/null; } >"$RAM_PREFIX/proc/modules.new"
    mv "$RAM_PREFIX/proc/modules.new" "$RAM_PREFIX/proc/modules"
    ${d.then ?? ':'} ;;`,
    )
    .join('\n');
  sb.stub('modprobe', `for a; do case $a in\n${cases}\nesac; done; exit 0`);
}

test('force-loads come first, in one modprobe; no /sys/bus devices means no coldplug call', () => {
  const sb = sandbox({}, 'loop squashfs lzo-rle');
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules');
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe -q -a loop squashfs lzo-rle']);
  assert.match(r.stdout, /^ramboot: modules: loaded none \(0 devices, 0 coldplug rounds\)$/m);
});

test('a force-load that fails: the rest load one by one and the failures are named, not fatal', () => {
  const sb = sandbox({}, 'loop hv_vmbus lzo-rle zram');
  sb.write('sys/module/loop/refcnt', '0\n');
  sb.stub('modprobe', 'case "$*" in *-a*|*hv_vmbus*) exit 1;; esac; exit 0');
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules; echo rc=$?');
  assert.match(r.stdout, /^ramboot: warning: modules: could not load: hv_vmbus \(dmesg says why\)$/m);
  assert.match(r.stdout, /^rc=0$/m);
  assert.deepEqual(sb.callLines('modprobe'), ['modprobe -q -a loop hv_vmbus lzo-rle zram', 'modprobe -q hv_vmbus', 'modprobe -q lzo-rle', 'modprobe -q zram']);
});

test('modules for another kernel stop the boot naming both versions, before any modprobe', () => {
  const sb = sandbox({ osrelease: '6.1.0-99-amd64', conf: { facts: { KVER: '6.1.0-1-amd64', FORCE_LOAD: 'loop' } } });
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules');
  assert.equal(r.status, 1);
  assert.match(errorLines(r.output)[0] ?? '', /modules for kernel 6\.1\.0-1-amd64 but the running kernel is 6\.1\.0-99-amd64/);
  assert.deepEqual(sb.calls('modprobe'), []);
});

test('coldplug: unbound devices\' modaliases go to modprobe once each; the devices a driver brings get a second round', () => {
  const sb = sandbox({}, 'loop');
  device(sb, 'pci', '0000:00:00.0', HOST_BRIDGE);
  device(sb, 'pci', '0000:00:01.1', IDE, 'ata_piix'); // bound to a built-in driver: skipped
  device(sb, 'pci', '0000:00:03.0', VIRTIO_NET_PCI);
  device(sb, 'pci', '0000:00:1f.0', undefined); // no modalias: matches nothing
  device(sb, 'cpu', 'cpu0', CPU);
  device(sb, 'cpu', 'cpu1', CPU); // the same modalias twice is asked for once
  fakeKernel(sb, {
    loop: { module: 'loop' },
    [VIRTIO_NET_PCI]: { module: 'virtio_pci', then: `mkdir -p "$RAM_PREFIX/sys/bus/virtio/devices/virtio0" && echo '${VIRTIO_NET}' >"$RAM_PREFIX/sys/bus/virtio/devices/virtio0/modalias"` },
    [VIRTIO_NET]: { module: 'virtio_net' },
  });
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules');
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('modprobe'), [
    ['modprobe', '-q', '-a', 'loop'],
    ['modprobe', '-q', '-a', CPU, HOST_BRIDGE, VIRTIO_NET_PCI],
    ['modprobe', '-q', '-a', VIRTIO_NET],
  ]);
  assert.match(r.stdout, /^ramboot: modules: loaded loop virtio_pci virtio_net \(6 devices, 2 coldplug rounds\)$/m);
});

test('coldplug again later hands only devices not tried before to modprobe', () => {
  const sb = sandbox();
  device(sb, 'pci', '0000:00:00.0', HOST_BRIDGE);
  fakeKernel(sb, {});
  const usb = 'usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00';
  const r = sb.run(`ram_stage_setup >/dev/null; ram_coldplug; mkdir -p "$RAM_PREFIX/sys/bus/usb/devices/1-1:1.0"; echo '${usb}' >"$RAM_PREFIX/sys/bus/usb/devices/1-1:1.0/modalias"; ram_coldplug; ram_coldplug`);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('modprobe'), [
    ['modprobe', '-q', '-a', HOST_BRIDGE],
    ['modprobe', '-q', '-a', usb],
  ]);
});

test('coldplug is bounded: a driver that keeps adding devices stops after RAM_COLDPLUG_ROUNDS rounds, with a warning', () => {
  const sb = sandbox();
  device(sb, 'platform', 'gen0', 'platform:gen0');
  // Every modprobe adds one more device with a modalias never seen before.
  sb.stub('modprobe', 'n=$(ls "$RAM_PREFIX/sys/bus/platform/devices" | wc -l); mkdir -p "$RAM_PREFIX/sys/bus/platform/devices/gen$n"; echo "platform:gen$n" >"$RAM_PREFIX/sys/bus/platform/devices/gen$n/modalias"');
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules', { RAM_COLDPLUG_ROUNDS: '3' });
  assert.equal(r.status, 0, r.output);
  assert.equal(sb.calls('modprobe').length, 3);
  assert.match(r.stdout, /^ramboot: warning: modules: coldplug: still new devices after 3 rounds; stopping$/m);
});

test('a driver that fails to load is a warning quoting modprobe, and the boot goes on', () => {
  const sb = sandbox();
  device(sb, 'pci', '0000:00:03.0', VIRTIO_NET_PCI);
  sb.stub('modprobe', 'echo "modprobe: can\'t load module virtio_pci (kernel/drivers/virtio/virtio_pci.ko): Exec format error" >&2; exit 1');
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules; echo rc=$?');
  assert.match(r.stdout, /^ramboot: warning: modules: coldplug: modprobe: can't load module virtio_pci .*Exec format error$/m);
  assert.match(r.stdout, /^rc=0$/m);
});

test('modaliases with shell pattern characters and spaces are passed as they are', () => {
  const sb = sandbox();
  const odd = 'acpi:QEMU0002:*[x] y?';
  device(sb, 'acpi', 'QEMU0002:00', odd);
  device(sb, 'acpi', 'QEMU0002:01', 'acpi:QEMU0002:');
  fakeKernel(sb, {});
  const r = sb.run('ram_stage_setup >/dev/null; ram_stage_modules');
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(sb.calls('modprobe'), [['modprobe', '-q', '-a', odd, 'acpi:QEMU0002:']]);
});
