import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeCmdline } from '../../src/cmdline/merge.ts';
import { parseCmdline, splitKernelWords } from '../../src/cmdline/parse.ts';

test('table parameters take the last value and come out in table order', () => {
  assert.equal(mergeCmdline('panic=10 boot=ram zram_size_pct=50', ['zram-size-pct=25', 'fetch=http://b/r']), 'boot=ram rooturl=http://b/r zram_size_pct=25 panic=10');
});

test('repeated words that are not ours are all kept, in order', () => {
  assert.equal(mergeCmdline('boot=ram console=tty0', ['console=ttyS0,115200', 'quiet', 'quiet']), 'boot=ram console=tty0 console=ttyS0,115200 quiet quiet');
});

test('words after -- stay init\'s, from the base and from the overrides, and overrides after a base -- still count', () => {
  const line = mergeCmdline('boot=ram -- single x=1', ['zram_size_pct=5', '-- emergency']);
  assert.equal(line, 'boot=ram zram_size_pct=5 -- single x=1 emergency');
  assert.equal(parseCmdline(line).values.zram_size_pct, '5');
  assert.deepEqual(splitKernelWords(line).slice(3), ['single', 'x=1', 'emergency']);
});

test('a bare parameter means what the parser says: flags y, others empty', () => {
  const line = mergeCmdline('rooturl=http://b/r', ['rooturl', 'ramdebug', 'initrddebug']);
  assert.equal(line, 'rooturl= initrddebug=y ramdebug=y');
  assert.equal(parseCmdline(line).values.rooturl, '');
});

test('values with blanks are quoted so the parsers read them back', () => {
  const line = mergeCmdline('', ['init="/bin/sh -c true"', '"foo=a b"']);
  assert.equal(line, 'init="/bin/sh -c true" foo="a b"');
  assert.equal(parseCmdline(line).values.init, '/bin/sh -c true');
});
