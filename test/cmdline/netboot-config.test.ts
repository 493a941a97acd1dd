import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNetbootConfig } from '../../src/cmdline/netboot-config.ts';
import { renderLoaderArgs } from '../../src/cmdline/loader-quoting.ts';
import { parseCmdline, splitKernelWords } from '../../src/cmdline/parse.ts';

const baseUrl = 'http://b/set';
const render = (format: 'line' | 'ipxe' | 'pxelinux' | 'grub', cmdline: string) => renderNetbootConfig(format, { cmdline, baseUrl });

test('iPXE refuses what its script language would change, naming the word and iPXE', () => {
  for (const word of ['x=a;b', 'x=a||b', 'x=a&&b', '#x', 'x=${net0/ip}', 'init="/bin/sh  -c x"', 'init="a\tb"', '||']) {
    assert.throws(() => render('ipxe', `boot=ram ${word}`), (e: Error) => e.message.startsWith('iPXE cannot carry the word ') && e.message.includes(JSON.stringify(splitKernelWords(word)[0])), word);
  }
});

test('iPXE carries a quoted value with single spaces: it rejoins split words with one space', () => {
  const config = render('ipxe', 'boot=ram init="/bin/sh -c true" x=a#b y=$z');
  assert.match(config, /^kernel http:\/\/b\/set\/vmlinuz initrd=initrd.img boot=ram init="\/bin\/sh -c true" x=a#b y=\$z$/m);
});

test('GRUB gets its specials single-quoted and passes the word on as the kernel reads it', () => {
  const args = renderLoaderArgs('grub', 'boot=ram init="/bin/sh -c x" x=$y a=b;c d={e} f=<g> h=i&j k=l|m #n');
  assert.deepEqual(args.problems, []);
  assert.equal(args.config, "boot=ram 'init=/bin/sh -c x' 'x=$y' 'a=b;c' 'd={e}' 'f=<g>' 'h=i&j' 'k=l|m' '#n'");
  assert.equal(args.kernel, 'boot=ram "init=/bin/sh -c x" x=$y a=b;c d={e} f=<g> h=i&j k=l|m #n');
  assert.equal(parseCmdline(args.kernel).values.init, '/bin/sh -c x');
  assert.match(render('grub', 'boot=ram x=$y'), /^ {2}linux \(http,b\)\/set\/vmlinuz boot=ram 'x=\$y'$/m);
});

test('GRUB refuses \\ \' and tabs, which the kernel would receive changed', () => {
  for (const word of ["x=it's", 'x=a\\b', 'x="a\tb"']) {
    assert.throws(() => render('grub', `boot=ram ${word}`), /GRUB cannot carry the word /, word);
  }
  assert.throws(() => renderNetbootConfig('grub', { cmdline: 'boot=ram', baseUrl: 'https://b/set' }), /GRUB cannot fetch https:\/\/b\/set/);
});

test('no loader carries a line break; PXELINUX writes the kernel\'s own form', () => {
  for (const format of ['line', 'ipxe', 'pxelinux', 'grub'] as const) {
    assert.throws(() => render(format, 'boot=ram init="a\nb"'), /cannot carry the word "init=a\\nb": a line break/, format);
  }
  assert.match(render('pxelinux', 'boot=ram init="/bin/sh -c x"'), /^ {2}APPEND boot=ram init="\/bin\/sh -c x"$/m);
});

test('render refuses a line the kernel would cut, counting what each loader adds', () => {
  const cmdline = `boot=ram x=${'a'.repeat(2000)}`;
  assert.doesNotThrow(() => render('line', cmdline));
  assert.throws(() => render('pxelinux', `${cmdline}${'a'.repeat(20)}`), /pxelinux: the kernel would receive \d+ bytes .*BOOT_IMAGE= and initrd= PXELINUX adds/);
  assert.throws(() => render('grub', `${cmdline}${'a'.repeat(30)}`), /BOOT_IMAGE= GRUB prepends/);
});

const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'cmdline', ...args], { encoding: 'utf8' });

test('the CLI: render keeps repeated kernel words and init\'s words, and refuses in one line', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ramboot-cmdline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cmdline.txt'), 'boot=ram console=tty0 panic=10 -- single\n');
  const ok = run('render', '--from', dir, '--set', 'console=ttyS0', 'rooturl=http://b/r', 'rooturl');
  assert.equal(ok.status, 2, ok.stderr);
  assert.match(ok.stderr, /rooturl= is empty/);
  const good = run('render', '--from', dir, '--set', 'console=ttyS0', 'rooturl=http://b/r');
  assert.equal(good.status, 0, good.stderr);
  assert.equal(good.stdout, 'boot=ram rooturl=http://b/r panic=10 console=tty0 console=ttyS0 -- single\n');
  const bad = run('render', '--format', 'ipxe', '--set', 'rooturl=http://b/r', 'x=a;b');
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /^ramboot: error: iPXE cannot carry the word "x=a;b": .* \(hint: /);
  const long = run('lint', '--target', 'pxelinux', '--base-url', 'http://b/set', 'rooturl=http://b/r', `x=${'a'.repeat(2010)}`);
  assert.equal(long.status, 2);
  assert.match(long.stdout, /error: too-long: .*BOOT_IMAGE=/);
});
