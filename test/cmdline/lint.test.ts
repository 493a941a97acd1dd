import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { lintCmdline, suggestParam } from '../../src/cmdline/lint.ts';
import { explainCmdline } from '../../src/cmdline/explain.ts';
import { renderNetbootConfig } from '../../src/cmdline/netboot-config.ts';
import { parseCmdline } from '../../src/cmdline/parse.ts';
import { renderDefaultCmdline } from '../../src/cmdline/render-cmdline.ts';

const codes = (line: string) => lintCmdline(line).map((f) => `${f.level}:${f.code}`);

test('a good netboot line has no findings', () => {
  assert.deepEqual(lintCmdline(`${renderDefaultCmdline()} rooturl=http://10.0.2.2:8080/rootfs.squashfs console=ttyS0 quiet`), []);
});

test('near misses of our names are errors with a suggestion; other words pass', () => {
  assert.equal(suggestParam('zram_size_pc'), 'zram_size_pct');
  assert.equal(suggestParam('rootsha25'), 'rootsha256');
  assert.equal(suggestParam('root'), undefined);
  assert.deepEqual(codes('rooturl=http://h/r zram-size-pc=25 quiet loglevel=3 root=/dev/sda1'), ['error:unknown-param']);
});

test('values are checked by type', () => {
  const bad = ['zram_size_pct=lots', 'zram_size_pct=900', `rootsha256=${'g'.repeat(64)}`, `rootsha256=${'a'.repeat(63)}`, 'zram_algo=brotli', 'overlay_size=150%', 'overlay_size=1T', 'init=sbin/init', 'ramdebug=maybe', 'initrddebug=later', 'ip='];
  for (const word of bad) assert.deepEqual(codes(`rooturl=http://h/r ${word}`), ['error:bad-value'], word);
  // Upper-case hex is fine: the boot script lowercases it before comparing (lib/validate.sh).
  const good = ['zram_size_pct=0', `rootsha256=${'a'.repeat(64)}`, `rootsha256=${'A'.repeat(64)}`, 'overlay_size=512M', 'overlay_size=25%', 'initrddebug=fetch', 'initrddebug', 'ramdebug=1'];
  for (const word of good) assert.deepEqual(codes(`rooturl=http://h/r ${word}`), [], word);
});

test('warnings: repeated parameter, missing rooturl, odd URL scheme', () => {
  assert.deepEqual(codes('rooturl=http://h/r zram_size_pct=1 zram_size_pct=2'), ['warning:repeated']);
  assert.deepEqual(codes('boot=ram'), ['warning:no-rooturl']);
  assert.deepEqual(lintCmdline('boot=ram', { rooturlAddedElsewhere: true }), []);
  assert.deepEqual(codes('rooturl=ftp://h/r'), ['warning:url-scheme']);
  assert.deepEqual(codes('rooturl=dev://LABEL=ROOTIMG/images/rootfs.squashfs,images/rootfs.squashfs,tftp://10.0.2.2/r'), []);
});

test('every shared parser case is a line lint accepts', () => {
  const cases: { cmdline: string }[] = JSON.parse(readFileSync(new URL('../fixtures/cmdline-cases.json', import.meta.url), 'utf8'));
  for (const c of cases) {
    // The byte cases show how the kernel cuts a U+00A0 or an à: lint rightly calls those errors.
    const errors = lintCmdline(c.cmdline).filter((f) => f.level === 'error' && f.code !== 'split-character');
    assert.deepEqual(errors, [], c.cmdline);
  }
});

test('explain says where each value comes from', () => {
  const e = explainCmdline('zram_size_pct=20 quiet');
  const zram = e.params.find((p) => p.name === 'zram_size_pct')!;
  assert.deepEqual([zram.value, zram.source], ['20', 'command line']);
  assert.equal(e.params.find((p) => p.name === 'ip')!.source, 'default');
  assert.deepEqual(e.others, ['quiet']);
});

test('netboot configs carry the command line unchanged', () => {
  const cmdline = renderDefaultCmdline({ rooturl: 'http://b/set/rootfs.squashfs' });
  for (const format of ['ipxe', 'pxelinux', 'grub'] as const) {
    const config = renderNetbootConfig(format, { cmdline, baseUrl: 'http://b/set/' });
    assert.ok(config.includes(cmdline), format);
    const base = format === 'grub' ? '(http,b)/set' : 'http://b/set';
    assert.ok(config.includes(`${base}/vmlinuz`) && config.includes(`${base}/initrd.img`), format);
  }
});

test('the CLI renders with --set over the defaults, keeps kernel words, and refuses bad values', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'cmdline', ...args], { encoding: 'utf8' });
  const ok = run('render', '--set', 'zram_size_pct=25', 'console=ttyS0', 'rooturl=http://b/r');
  assert.equal(ok.status, 0, ok.stderr);
  const values = parseCmdline(ok.stdout).values;
  assert.equal(values.zram_size_pct, '25');
  assert.equal(values.rooturl, 'http://b/r');
  assert.match(ok.stdout, /panic=10 console=ttyS0\n$/);
  const bad = run('render', '--set', 'zram_size_pct=x');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /zram_size_pct=x: not a whole number/);
  const lint = run('lint', 'zram_size_pc=25');
  assert.equal(lint.status, 2);
  assert.match(lint.stdout, /did you mean zram_size_pct=/);
});

test('a line the kernel would cut is an error: 2047 bytes fit, 2048 do not, counted in UTF-8 bytes', () => {
  const head = 'rooturl=http://h/r x=';
  const line = (bytes: number) => head + 'a'.repeat(bytes - head.length);
  assert.deepEqual(codes(line(2047)), []);
  assert.deepEqual(codes(line(2048)), ['error:too-long']);
  assert.deepEqual(codes(`${head}a${'é'.repeat(1013)}`), ['error:too-long']); // 2026 bytes of é
  assert.deepEqual(codes(`${head}${'é'.repeat(1013)}`), []);
  assert.match(lintCmdline(line(2048))[0]!.message, /2048 bytes .* keeps 2047/);
});

test('through PXELINUX and GRUB the BOOT_IMAGE= they prepend counts (and PXELINUX\'s initrd=)', () => {
  const baseUrl = 'http://b/set';
  const head = 'rooturl=http://h/r x=';
  const pxeExtra = 'BOOT_IMAGE=http://b/set/vmlinuz  initrd=http://b/set/initrd.img'.length;
  const grubExtra = 'BOOT_IMAGE=(http,b)/set/vmlinuz '.length;
  const fits = (extra: number) => head + 'a'.repeat(2047 - extra - head.length);
  const tooLong = (target: 'pxelinux' | 'grub' | 'ipxe') => lintCmdline(fits(0), { target, baseUrl }).map((f) => f.code);
  assert.deepEqual(tooLong('pxelinux'), ['too-long']);
  assert.deepEqual(tooLong('grub'), ['too-long']);
  assert.deepEqual(tooLong('ipxe'), ['too-long']);
  assert.deepEqual(lintCmdline(fits(pxeExtra), { target: 'pxelinux', baseUrl }), []);
  assert.deepEqual(lintCmdline(fits(pxeExtra) + 'a', { target: 'pxelinux', baseUrl }).map((f) => f.code), ['too-long']);
  assert.deepEqual(lintCmdline(fits(grubExtra), { target: 'grub', baseUrl }), []);
  assert.deepEqual(lintCmdline(fits(grubExtra) + 'a', { target: 'grub', baseUrl }).map((f) => f.code), ['too-long']);
});

test('rootsha256=off boots unverified (a warning); an empty rootsha256= is an error', () => {
  assert.deepEqual(codes('rooturl=http://h/r rootsha256=off'), ['warning:unverified']);
  assert.match(lintCmdline('rooturl=http://h/r rootsha256=off')[0]!.message, /will not be verified/);
  assert.deepEqual(codes('rooturl=http://h/r rootsha256='), ['error:bad-value']);
  assert.deepEqual(codes('rooturl=http://h/r rootsha256'), ['error:bad-value']);
  assert.match(lintCmdline('rooturl=http://h/r rootsha256=')[0]!.message, /empty.*rootsha256=off/);
});

test('a character holding the byte 0xA0 is an error; other Unicode blanks are a warning', () => {
  assert.deepEqual(codes('rooturl=http://h/r\u00a0quiet'), ['error:split-character']);
  assert.deepEqual(codes('rooturl=http://h/r init=/opt/voil\u00e0'), ['error:split-character']);
  assert.deepEqual(codes('rooturl=http://h/r init="/opt/voil\u00e0"'), []);
  assert.deepEqual(codes('rooturl=http://h/r x=a\u2003quiet'), ['warning:unicode-blank']);
  assert.deepEqual(codes('rooturl=http://h/r x=a\u3000quiet'), ['warning:unicode-blank']);
});

test('too many words for init is a warning, counted the kernel\'s way', () => {
  const many = Array.from({ length: 33 }, (_, i) => `w${i}`).join(' ');
  assert.deepEqual(codes(`rooturl=http://h/r ${many}`), ['warning:too-many-init-args']);
  assert.deepEqual(codes(`rooturl=http://h/r -- ${many}`), ['warning:too-many-init-args']);
  assert.deepEqual(codes(`rooturl=http://h/r ${Array.from({ length: 33 }, (_, i) => `m.w${i}`).join(' ')}`), []);
  // rooturl= and 30 more fill the environment; GRUB's BOOT_IMAGE= is one too many.
  const env = `rooturl=http://h/r ${Array.from({ length: 30 }, (_, i) => `e${i}=1`).join(' ')}`;
  assert.deepEqual(lintCmdline(env, { target: 'pxelinux' }).map((f) => f.code), ['too-many-init-env']);
  assert.deepEqual(lintCmdline(env, { target: 'ipxe' }), []);
  assert.deepEqual(lintCmdline(env), []);
});

test('lint with a target reports the words that loader cannot carry', () => {
  assert.deepEqual(lintCmdline('rooturl=http://h/r x=a;b', { target: 'ipxe' }).map((f) => f.code), ['loader-cannot-express']);
  assert.deepEqual(lintCmdline('rooturl=http://h/r x=a;b', { target: 'grub' }), []);
});
