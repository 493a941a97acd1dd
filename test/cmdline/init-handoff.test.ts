import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInitHandoff, handOffWords, INIT_ARG_ROOM, INIT_ENV_ROOM } from '../../src/cmdline/init-handoff.ts';

test('the kernel keeps its own words and module parameters; the rest goes to init', () => {
  const h = handOffWords('console=ttyS0 quiet splash net.ifnames=0 rd.break boot=ram rooturl=http://h/r BOOTIF=01-aa panic=10 ro single');
  assert.deepEqual(h.args, ['splash', 'single']);
  assert.deepEqual(h.env, ['boot=ram', 'rooturl=http://h/r', 'BOOTIF=01-aa']);
  assert.deepEqual(h.kernel, ['console=ttyS0', 'quiet', 'panic=10', 'ro']);
  assert.deepEqual(h.module, ['net.ifnames=0', 'rd.break']);
});

test('a repeated environment name replaces the earlier word in place; HOME and TERM are there already', () => {
  const h = handOffWords('foo=1 bar=2 foo=3 TERM=vt100');
  assert.deepEqual(h.env, ['foo=3', 'bar=2']);
  assert.equal(h.envTotal, 4); // HOME=/, TERM=vt100, foo, bar
});

test('init= drops the arguments before it; after -- every word is an argument', () => {
  assert.deepEqual(handOffWords('splash init=/sbin/init single').args, ['single']);
  const h = handOffWords('a=1 -- x=1 y.z single --');
  assert.deepEqual(h.args, ['x=1', 'y.z', 'single', '--']);
  assert.deepEqual(h.env, ['a=1']);
});

test('quoted words reach init without their quotes', () => {
  assert.deepEqual(handOffWords('"foo=a b" bar="c d"').env, ['foo=a b', 'bar=c d']);
});

test('room: 32 arguments after "init", 31 environment words besides HOME and TERM', () => {
  assert.equal(INIT_ARG_ROOM, 32);
  assert.equal(INIT_ENV_ROOM, 31);
  const args = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`).join(' ');
  const env = (n: number) => Array.from({ length: n }, (_, i) => `e${i}=1`).join(' ');
  assert.deepEqual(checkInitHandoff(args(32)), []);
  assert.deepEqual(checkInitHandoff(args(33)).map((f) => `${f.level}:${f.code}`), ['warning:too-many-init-args']);
  assert.deepEqual(checkInitHandoff(env(31)), []);
  assert.deepEqual(checkInitHandoff(env(32)).map((f) => `${f.level}:${f.code}`), ['warning:too-many-init-env']);
  // The same name 40 times is one environment word; dotted names are never passed.
  assert.deepEqual(checkInitHandoff(Array.from({ length: 40 }, (_, i) => `x=${i} m.p${i}=1`).join(' ')), []);
  assert.match(checkInitHandoff(env(32))[0]!.message, /Too many boot env vars/);
});
