import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { lintCmdline, suggestParam } from '../../src/cmdline/lint.ts';
import { explainCmdline } from '../../src/cmdline/explain.ts';
import { renderNetbootConfig } from '../../src/cmdline/netboot-config.ts';
import { parseCmdline } from '../../src/cmdline/parse.ts';
import { renderDefaultCmdline } from '../../src/cmdline/render.ts';

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
  const bad = ['zram_size_pct=lots', 'zram_size_pct=900', `rootsha256=${'A'.repeat(64)}`, 'zram_algo=brotli', 'overlay_size=150%', 'overlay_size=1T', 'init=sbin/init', 'ramdebug=maybe', 'initrddebug=later', 'ip='];
  for (const word of bad) assert.deepEqual(codes(`rooturl=http://h/r ${word}`), ['error:bad-value'], word);
  const good = ['zram_size_pct=0', `rootsha256=${'a'.repeat(64)}`, 'overlay_size=512M', 'overlay_size=25%', 'initrddebug=fetch', 'initrddebug', 'ramdebug=1'];
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
    assert.deepEqual(lintCmdline(c.cmdline).filter((f) => f.level === 'error'), [], c.cmdline);
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
    assert.ok(config.includes('http://b/set/vmlinuz') && config.includes('http://b/set/initrd.img'), format);
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
