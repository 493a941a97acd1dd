// Reading a busybox's applets from its tables (src/initrd/busybox-applets.ts), for a busybox of
// another architecture that cannot run here. The oracle is `--list-full` of this machine's
// busybox: the tables read from the same binary must give exactly its list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { aptBusybox } from '../../src/initrd/apt-busybox.ts';
import { parseAptShow } from '../../src/util/apt-package.ts';
import { readAppletTable } from '../../src/initrd/busybox-applets.ts';
import { listApplets } from '../../src/initrd/busybox.ts';
import { hostArch, MACHINE_OF } from '../../src/elf/machine.ts';
import { runToolDirect } from '../../src/util/run-tool.ts';
import { skipWithoutArm64Apt } from '../boot/arm64-set.ts';

const hostList = () => execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();

test('the tables of this machine\'s busybox give exactly what --list-full prints', () => {
  const listed = hostList();
  assert.ok(listed.length > 100);
  assert.deepEqual(readAppletTable(readFileSync('/bin/busybox'), '/bin/busybox').sort(), listed);
});

test('Debian\'s arm64 busybox-static of the same version has the same applets at the same places', { skip: skipWithoutArm64Apt() }, async () => {
  const arm64 = await aptBusybox('arm64');
  const applets = readAppletTable(readFileSync(arm64.path), arm64.path).sort();
  const hostVersion = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'busybox-static'], { encoding: 'utf8' });
  if (hostVersion === arm64.version) assert.deepEqual(applets, hostList());
  for (const a of ['bin/sh', 'sbin/switch_root', 'usr/bin/wget', 'sbin/udhcpc', 'linuxrc']) assert.ok(applets.includes(a), a);
});

test('a binary without the tables, or with its location table damaged, is an error, never a guess', () => {
  const names = Buffer.from('\0[\0[[\0acpid\0add-shell\0addgroup\0adduser\0adjtimex\0ar\0arch\0arp\0arping\0ash\0\0');
  assert.throws(() => readAppletTable(Buffer.alloc(4096, 0xff), 'x'), /cannot find the applet list in x/);
  assert.throws(() => readAppletTable(Buffer.concat([names, Buffer.alloc(64, 0xff)]), 'y'), /cannot find where the applets of y install/);
  // Two equally good location tables cannot be told apart.
  const table = Buffer.from([0x33, 0x24, 0x34, 0x11, 0x31, 0x03]);
  assert.throws(() => readAppletTable(Buffer.concat([table, Buffer.from([0xff]), table, Buffer.from([0xff]), names, Buffer.from([0xff])]), 'z'), /cannot find where/);
  const one = readAppletTable(Buffer.concat([Buffer.from([0xff]), table, Buffer.from([0xff]), names, Buffer.from([0xff])]), 'w');
  assert.deepEqual(one.slice(0, 4), ['usr/bin/[', 'usr/bin/[[', 'usr/sbin/acpid', 'sbin/add-shell']);
  assert.equal(one[10], 'usr/bin/arping');
  assert.equal(one[11], 'ash', 'the last applet (a 0 nibble) installs at /');
});

test('apt-cache show: version and .deb sha256 of the first stanza, validated', () => {
  const sha = 'a'.repeat(64);
  assert.deepEqual(parseAptShow(`Package: busybox-static\nVersion: 1:1.35.0-4+deb12u1+b1\nSHA256: ${sha}\n\nPackage: x\nVersion: 2\n`), { version: '1:1.35.0-4+deb12u1+b1', sha256: sha });
  assert.equal(parseAptShow(`Version: 1;rm -rf\nSHA256: ${sha}\n`), undefined);
  assert.equal(parseAptShow('Version: 1\nSHA256: abc\n'), undefined);
});

test('runToolDirect (the hot-path spawn of --list-full) reads like runTool: the output, a missing tool with its package, a failure with its exit code and stderr', async () => {
  assert.deepEqual((await listApplets('/bin/busybox', MACHINE_OF[hostArch()])).sort(), hostList());
  await assert.rejects(runToolDirect('busybox-not-here', ['--list-full']), /^RambootError: busybox-not-here not found/);
  await assert.rejects(runToolDirect('zstd', ['-d', '/nonexistent.zst']), (e: Error) => /^zstd -d \/nonexistent\.zst exited with 1: .*No such file/.test(e.message));
});
