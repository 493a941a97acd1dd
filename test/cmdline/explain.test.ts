import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainCmdline, renderExplanation } from '../../src/cmdline/explain.ts';

test('explain says where the kernel puts each word and how much room init has left', () => {
  const e = explainCmdline('boot=ram console=ttyS0 quiet splash net.ifnames=0 rooturl=http://b/r -- single');
  assert.deepEqual(e.handoff.args, ['splash', 'single']);
  assert.deepEqual(e.handoff.env, ['boot=ram', 'rooturl=http://b/r']);
  const text = renderExplanation(e);
  assert.match(text, /^kept by the kernel: console=ttyS0 quiet$/m);
  assert.match(text, /^module parameters \(left in \/proc\/cmdline, not passed to init\): net.ifnames=0$/m);
  assert.match(text, /^init's arguments \(2 of at most 32\): splash single$/m);
  assert.match(text, /^init's environment besides HOME and TERM \(2 of at most 31\): boot=ram rooturl=http:\/\/b\/r$/m);
});
