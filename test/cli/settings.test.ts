// The builder's settings table (issue 17): the flags of build/initrd/rootfs, their parsing,
// defaults and checks come from src/settings/builder-settings.ts, and the README's usage lines
// and option list are generated from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { BUILDER_COMMANDS, BUILDER_SETTINGS, type BuilderCommand } from '../../src/settings/builder-settings.ts';
import { addSettings, optionOf, readSettings } from '../../src/settings/settings-cli.ts';
import { updateReadmeSettings } from '../../src/settings/render-settings.ts';
import { ramboot } from '../image-set/helpers.ts';

/** The flags users' scripts rely on, per command, in --help order: renaming one breaks them. */
const KEPT_FLAGS: Record<BuilderCommand, string[]> = {
  build: ['--root <path>', '--out <dir>', '--kernel <file>', '--kver <version>', '--rooturl <url>', '--embed', '--compress <codec>', '--compress-level <n>', '--modules <list>', '--omit-modules <list>', '--busybox <file>', '--host-only', '--squashfs-comp <codec>', '--squashfs-level <n>', '--block-size <size>', '--exclude-file <file>'],
  initrd: ['--root <path>', '-o, --out <file>', '--kver <version>', '--rootsha256 <hex>', '--explain', '--json', '--compress <codec>', '--compress-level <n>', '--modules <list>', '--omit-modules <list>', '--busybox <file>', '--host-only'],
  rootfs: ['--root <path>', '-o, --out <file>', '--squashfs-comp <codec>', '--squashfs-level <n>', '--block-size <size>', '--exclude-file <file>'],
};

function parse(command: BuilderCommand, ...argv: string[]) {
  const program = addSettings(new Command(command).exitOverride().configureOutput({ writeErr: () => {} }), command);
  program.parse(argv, { from: 'user' });
  return readSettings(command, program.opts());
}

test('the README usage lines and option list are generated from the table (run npm run readme)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.equal(readme, updateReadmeSettings(readme));
  for (const row of BUILDER_SETTINGS) assert.ok(readme.includes(`| \`${row.flags}\` |`), row.flags);
});

/** Flags added since: each addition is deliberate, and none may rename or reorder a kept one. */
const ADDED_FLAGS: Record<BuilderCommand, string[]> = {
  build: ['--uki', '--uki-stub <file>', '--uki-append <words>', '--sign-key <file>', '--sign-cert <file>', '--hooks <dir>', '--hook <name>', '--ssh-key <file>', '--arch <arch>'],
  initrd: ['--hooks <dir>', '--hook <name>', '--ssh-key <file>', '--arch <arch>'],
  rootfs: [],
};

test('every command keeps its flag names and order; new flags are only the listed additions', () => {
  for (const command of BUILDER_COMMANDS) {
    const flags = addSettings(new Command(command), command).options.map((o) => o.flags);
    assert.deepEqual(flags.filter((f) => KEPT_FLAGS[command].includes(f)), KEPT_FLAGS[command], `${command}: kept flags renamed or reordered`);
    assert.deepEqual(flags.filter((f) => !KEPT_FLAGS[command].includes(f)).sort(), [...ADDED_FLAGS[command]].sort(), `${command}: flags added`);
  }
});

test('each row\'s key is the attribute commander stores the flag under', () => {
  for (const row of BUILDER_SETTINGS) assert.equal(optionOf(row).attributeName(), row.key, row.flags);
});

test('values parse as before: lists accumulate, sizes take K/M, defaults apply, -o is --out', () => {
  const s = parse('build', '--root', 'r', '--modules', 'a,b', '--modules', 'c', '--block-size', '256K', '--exclude-file', 'x', '--exclude-file', 'y,z', '--embed');
  assert.deepEqual(s.modules, ['a', 'b', 'c']);
  assert.equal(s.blockSize, 256 * 1024);
  assert.deepEqual(s.excludeFile, ['x', 'y', 'z']);
  assert.equal(s.out, './out');
  assert.equal(s.embed, true);
  assert.equal(parse('initrd', '--root', 'r', '-o', 'i.img', '--compress', 'xz', '--compress-level', '3').compressLevel, 3);
  assert.equal(parse('rootfs', '--root', 'r', '--out', 'f').out, 'f');
  assert.throws(() => parse('rootfs', '--root', 'r'), /required option '-o, --out <file>' not specified/);
  assert.throws(() => parse('build', '--root', 'r', '--squashfs-comp', 'brotli'), /Allowed choices are zstd, xz, gzip, lz4/);
  assert.throws(() => parse('build', '--root', 'r', '--block-size', 'big'), /use bytes or a K\/M\/G suffix/);
});

test('the rows\' checks run on the parsed values: level per codec, squashfs level and block size, rooturl, sha256', () => {
  assert.throws(() => parse('initrd', '--root', 'r', '-o', 'i', '--compress', 'gzip', '--compress-level', '12'), /compression level 12 is out of range for gzip/);
  assert.throws(() => parse('rootfs', '--root', 'r', '-o', 'f', '--squashfs-comp', 'xz', '--squashfs-level', '3'), /mksquashfs has no compression level for xz/);
  assert.throws(() => parse('rootfs', '--root', 'r', '-o', 'f', '--block-size', '3K'), /not a power of two/);
  assert.throws(() => parse('build', '--root', 'r', '--rooturl', 'a b'), /--rooturl "a b" is not a list/);
  assert.throws(() => parse('initrd', '--root', 'r', '-o', 'i', '--rootsha256', 'abc'), /"abc" is not a sha256/);
});

test('a bad value is refused before the root is even opened (a tarball root is not unpacked first)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-settings-'));
  writeFileSync(join(dir, 'root.tar.gz'), 'not a tarball');
  for (const [command, ...args] of [
    ['build', '--out', join(dir, 'out'), '--compress-level', '99'],
    ['initrd', '-o', join(dir, 'i.img'), '--compress', 'lz4', '--compress-level', '13'],
    ['rootfs', '-o', join(dir, 'r.sq'), '--squashfs-level', '23'],
  ]) {
    const r = ramboot(command!, '--root', join(dir, 'root.tar.gz'), ...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^ramboot: error: (squashfs zstd level 23|compression level (99|13)) is out of range.*\n$/, `${command}: ${r.stderr}`);
  }
});
