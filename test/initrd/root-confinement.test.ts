// Nothing of a root tree reaches the build host (issue 9, items 1 and 2): no file of the root is
// executed, and every path the builder reads from a root resolves inside it, as chroot or
// openat2(RESOLVE_IN_ROOT) would resolve it. Each case plants a canary on the host, outside the
// root, links to it from the root, and checks that the canary never comes back in an initrd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeNewc } from '../../src/cpio/newc-reader.ts';
import { RambootError } from '../../src/errors.ts';
import { buildInitrd, type InitrdOptions } from '../../src/initrd/build-initrd.ts';
import { findKernel } from '../../src/kernel/find-kernel.ts';
import { KVER, SHIPPED_HOOK_BUILTIN, SHIPPED_HOOK_MODULES, makeFakeRoot, moduleElf, writeRootFile } from './fake-root.ts';

let work: string;
let host: string;
let canary: Buffer;
let template: string;

/** A static x86-64 ELF executable that creates `marker` and exits: open(marker, O_WRONLY|O_CREAT,
 * 0644); exit(0). If anything runs it, the marker appears. */
function markerElf(marker: string): Buffer {
  const path = Buffer.from(`${marker}\0`);
  const code = Buffer.concat([
    Buffer.from([0x48, 0x8d, 0x3d, 26, 0, 0, 0]), // lea rdi, [rip+26] (the path, after the code)
    Buffer.from([0xbe, 0x41, 0, 0, 0]), // mov esi, O_WRONLY|O_CREAT
    Buffer.from([0xba, 0xa4, 0x01, 0, 0]), // mov edx, 0644
    Buffer.from([0xb8, 2, 0, 0, 0, 0x0f, 0x05]), // mov eax, SYS_open; syscall
    Buffer.from([0x31, 0xff, 0xb8, 60, 0, 0, 0, 0x0f, 0x05]), // xor edi, edi; mov eax, SYS_exit; syscall
    path,
  ]);
  const base = 0x400000;
  const header = Buffer.alloc(64 + 56);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // ELFCLASS64
  header[5] = 1; // little-endian
  header[6] = 1;
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(62, 18); // EM_X86_64
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(BigInt(base + header.length), 24); // e_entry: the code
  header.writeBigUInt64LE(64n, 32); // e_phoff
  header.writeUInt16LE(64, 52); // e_ehsize
  header.writeUInt16LE(56, 54); // e_phentsize
  header.writeUInt16LE(1, 56); // e_phnum
  header.writeUInt32LE(1, 64); // PT_LOAD, no PT_INTERP: static
  header.writeUInt32LE(5, 68); // R+X
  header.writeBigUInt64LE(BigInt(base), 80); // p_vaddr
  header.writeBigUInt64LE(BigInt(base), 88); // p_paddr
  const size = BigInt(header.length + code.length);
  header.writeBigUInt64LE(size, 96); // p_filesz
  header.writeBigUInt64LE(size, 104); // p_memsz
  header.writeBigUInt64LE(0x1000n, 112);
  return Buffer.concat([header, code]);
}

/** A fresh copy of the buildable fake root. */
function freshRoot(name: string): string {
  const root = join(work, name);
  cpSync(template, root, { recursive: true, verbatimSymlinks: true });
  return root;
}

/** `root/rel` becomes a symlink to `target` (whatever was there is removed). */
function link(root: string, rel: string, target: string): void {
  const path = join(root, rel);
  rmSync(path, { recursive: true, force: true });
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
}

/** Climbs from `rel` (a path inside the root) to the host's / and down to `hostPath`. */
function climbTo(rel: string, hostPath: string): string {
  return `${'../'.repeat(rel.split('/').length - 1 + join(work, 'x').split('/').length)}${hostPath.slice(1)}`;
}

function build(root: string, name: string, extra: Partial<InitrdOptions> = {}) {
  return buildInitrd({ root, out: join(work, `${name}.img`), compression: 'none', ...extra });
}

/** The initrd holds no byte sequence of the canary, in any entry. */
function assertNoCanary(image: string): void {
  const raw = readFileSync(image);
  assert.equal(raw.indexOf(canary), -1, 'the host canary is not in the initrd');
  for (const entry of decodeNewc(raw)) assert.equal(entry.data.indexOf(canary), -1, `entry ${entry.path}`);
}

/** A RambootError whose one line (no stack, no newline) matches `pattern`. */
function oneLine(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof RambootError, `a RambootError, got ${String(error)}`);
    assert.match(error.toLine(), pattern);
    assert.doesNotMatch(error.toLine(), /\n/);
    assert.ok(error.hint, 'with a hint');
    return true;
  };
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-confine-'));
  canary = Buffer.from(`HOST-CANARY-${process.pid}-${Date.now()}`);
  // The host side: a secret file, and a whole modules tree of the same kernel version whose
  // modules carry the canary in their .modinfo.
  host = join(work, 'host');
  writeRootFile(host, 'secret', canary);
  for (const m of [...SHIPPED_HOOK_MODULES, { path: 'kernel/drivers/net/evil.ko' }]) {
    const name = m.path.replace(/^.*\//, '').replace(/\.ko$/, '');
    writeRootFile(host, `modules/${KVER}/${m.path}`, moduleElf({ name, alias: [`canary-${canary}`], depends: (m.depends ?? []).join(',') }));
  }
  writeRootFile(host, `modules/${KVER}/modules.builtin`, SHIPPED_HOOK_BUILTIN.join('\n'));

  template = join(work, 'template');
  makeFakeRoot(template, [...SHIPPED_HOOK_MODULES, { path: 'kernel/drivers/net/fwnic.ko', firmware: ['acme/fw.bin'] }], SHIPPED_HOOK_BUILTIN);
  writeRootFile(template, 'lib/firmware/acme/fw.bin', 'the root\'s own firmware\n');
});
after(() => rmSync(work, { recursive: true, force: true }));

test('busybox: an executable bin/busybox in the root is never run; the host\'s busybox is packed', async () => {
  const root = freshRoot('busybox');
  const elfMarker = join(work, 'ran-static-elf');
  const shMarker = join(work, 'ran-script');
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin/busybox'), markerElf(elfMarker), { mode: 0o755 });
  for (const rel of ['usr/bin/busybox', 'sbin/busybox', 'usr/sbin/busybox']) {
    mkdirSync(join(root, dirname(rel)), { recursive: true });
    writeFileSync(join(root, rel), `#!/bin/sh\ntouch ${shMarker}\n`, { mode: 0o755 });
  }
  const result = await build(root, 'busybox');
  assert.equal(existsSync(elfMarker), false, 'the root\'s static ELF busybox was executed');
  assert.equal(existsSync(shMarker), false, 'the root\'s script busybox was executed');
  assert.deepEqual(result.busybox, { path: '/bin/busybox', origin: 'host' });
  const entries = new Map(decodeNewc(readFileSync(result.path)).map((e) => [e.path, e]));
  assert.ok(entries.get('bin/busybox')!.data.equals(readFileSync('/bin/busybox')), 'the packed busybox is the host\'s');
});

test('/boot/vmlinuz-KVER -> an absolute host file is read inside the root: not found, never the host file', async () => {
  const root = freshRoot('vmlinuz-abs');
  link(root, `boot/vmlinuz-${KVER}`, join(host, 'secret'));
  await assert.rejects(findKernel(root), oneLine(new RegExp(`kernel image /boot/vmlinuz-${KVER} is not in the root`)));
});

test('/boot/vmlinuz-KVER -> ../../.. past the root is an error naming the entry and its target', async () => {
  const root = freshRoot('vmlinuz-rel');
  const target = climbTo(`boot/vmlinuz-${KVER}`, join(host, 'secret'));
  link(root, `boot/vmlinuz-${KVER}`, target);
  await assert.rejects(
    findKernel(root),
    oneLine(new RegExp(`^root entry /boot/vmlinuz-${KVER} is a symlink that leaves the root \\(-> ${target.replaceAll('.', '\\.')}\\) \\(hint: `)),
  );
  await assert.rejects(build(root, 'vmlinuz-rel'), /leaves the root/);
});

test('absolute symlinks that stay inside the root are followed relative to the root (Debian chroots have them)', async () => {
  const root = freshRoot('inside');
  renameSync(join(root, `boot/vmlinuz-${KVER}`), join(root, 'boot/real-vmlinuz'));
  link(root, `boot/vmlinuz-${KVER}`, '/boot/real-vmlinuz');
  mkdirSync(join(root, 'usr/lib/modules'), { recursive: true });
  renameSync(join(root, `lib/modules/${KVER}`), join(root, `usr/lib/modules/${KVER}`));
  link(root, `lib/modules/${KVER}`, `/usr/lib/modules/${KVER}`);
  renameSync(join(root, 'lib/firmware'), join(root, 'usr/firmware-real'));
  link(root, 'lib/firmware', '/usr/./firmware-real/../firmware-real');
  const kernel = await findKernel(root);
  assert.equal(kernel.vmlinuz, join(root, 'boot/real-vmlinuz'));
  assert.equal(kernel.modulesDir, join(root, `usr/lib/modules/${KVER}`));
  const result = await build(root, 'inside', { add: ['fwnic'] });
  assert.deepEqual(result.firmware, ['lib/firmware/acme/fw.bin']);
  assert.ok(result.modules.some((m) => m.info.name === 'squashfs'));
});

test('lib/modules/KVER -> a host directory is not the root\'s modules tree', async () => {
  const root = freshRoot('modules-abs');
  link(root, `lib/modules/${KVER}`, join(host, 'modules', KVER));
  await assert.rejects(build(root, 'modules-abs'), oneLine(new RegExp(`no /lib/modules/${KVER} in the root`)));
  const relative = freshRoot('modules-rel');
  link(relative, `lib/modules/${KVER}`, climbTo(`lib/modules/${KVER}`, join(host, 'modules', KVER)));
  await assert.rejects(build(relative, 'modules-rel'), oneLine(new RegExp(`root entry /lib/modules/${KVER} is a symlink that leaves the root`)));
});

test('a module file or module directory linking to the host is never read', async () => {
  const root = freshRoot('ko-link');
  const rel = `lib/modules/${KVER}/kernel/fs/squashfs/squashfs.ko`;
  link(root, rel, join(host, 'modules', KVER, 'kernel/fs/squashfs/squashfs.ko'));
  // Found by scanning, a link to nowhere in the root is no module; named by modules.dep, an error.
  await assert.rejects(build(root, 'ko-link'), oneLine(/has no module squashfs \(hook ram-boot/));
  writeFileSync(join(root, `lib/modules/${KVER}/modules.dep`), 'kernel/fs/squashfs/squashfs.ko:\n');
  await assert.rejects(build(root, 'ko-link'), oneLine(new RegExp(`cannot read module /${rel.replaceAll('.', '\\.')}: ENOENT, not in the root`)));

  // A directory of the modules tree linking to the host's tree: its modules do not exist.
  const dir = freshRoot('ko-dir');
  link(dir, `lib/modules/${KVER}/kernel/drivers/net/extra`, join(host, 'modules', KVER, 'kernel/drivers/net'));
  await assert.rejects(build(dir, 'ko-dir', { add: ['evil'] }), /has no module evil \(--modules\)/);
  const ok = await build(dir, 'ko-dir');
  assertNoCanary(ok.path);
  // One linking inside the root is walked, as depmod walks it; a link loop is walked once.
  writeRootFile(dir, 'opt/vendor/extranic.ko', moduleElf({ name: 'extranic' }));
  link(dir, `lib/modules/${KVER}/updates`, '/opt/vendor');
  link(dir, 'opt/vendor/again', `../../lib/modules/${KVER}`);
  const vendor = await build(dir, 'ko-dir', { add: ['extranic'] });
  assert.deepEqual(vendor.modules.filter((m) => m.info.name === 'extranic').map((m) => m.info.path), ['updates/extranic.ko']);

  // modules.dep naming a path that climbs out of the root.
  const dep = freshRoot('ko-dep');
  writeFileSync(join(dep, `lib/modules/${KVER}/modules.dep`), `${climbTo(`lib/modules/${KVER}/x`, join(host, 'modules', KVER, 'kernel/fs/squashfs/squashfs.ko'))}:\n`);
  await assert.rejects(build(dep, 'ko-dep'), oneLine(/leaves the root/));
});

test('firmware linking to a host file is not packed; one climbing out of the root is an error', async () => {
  const root = freshRoot('fw-abs');
  link(root, 'lib/firmware/acme/fw.bin', join(host, 'secret'));
  const result = await build(root, 'fw-abs', { add: ['fwnic'] });
  assert.deepEqual(result.firmware, []);
  assert.match(result.warnings.join('\n'), /firmware for module fwnic is not in the root's \/lib\/firmware: acme\/fw\.bin/);
  assertNoCanary(result.path);

  const rel = freshRoot('fw-rel');
  link(rel, 'lib/firmware/acme/fw.bin', climbTo('lib/firmware/acme/fw.bin', join(host, 'secret')));
  await assert.rejects(build(rel, 'fw-rel', { add: ['fwnic'] }), oneLine(/^root entry \/lib\/firmware\/acme\/fw\.bin is a symlink that leaves the root/));
});

test('hook files are read inside the root: a link to the host is a missing file, a link inside the root is followed', async () => {
  const hooks = join(work, 'hooks');
  writeRootFile(hooks, 'site/hook.json', JSON.stringify({ description: 'd', files: ['etc/site.conf', { path: 'etc/optional.conf', optional: true }] }));
  const root = freshRoot('hook-files');
  link(root, 'etc/site.conf', join(host, 'secret'));
  await assert.rejects(build(root, 'hook-files', { extraHookDirs: [hooks] }), oneLine(/hook site needs \/etc\/site\.conf, which the root does not have/));

  writeRootFile(root, 'srv/etc/site.conf', 'the root\'s own site.conf\n');
  link(root, 'etc', '/srv/etc');
  link(root, 'srv/etc/optional.conf', join(host, 'secret'));
  const result = await build(root, 'hook-files', { extraHookDirs: [hooks] });
  const entries = new Map(decodeNewc(readFileSync(result.path)).map((e) => [e.path, e]));
  assert.equal(entries.get('etc/site.conf')?.data.toString(), 'the root\'s own site.conf\n');
  assert.equal(entries.has('etc/optional.conf'), false);
  assertNoCanary(result.path);
});
