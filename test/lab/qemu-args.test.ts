// The QEMU command lines of src/lab/qemu.ts: aarch64 guests get the virt board, a Cortex-A57
// and the command line as given; x86 guests keep theirs (no_timer_check added).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderQemuArgs } from '../../src/lab/qemu.ts';

const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('aarch64: -M virt, -cpu cortex-a57, TCG, and no x86-only parameter added to the command line', () => {
  const args = renderQemuArgs({ arch: 'aarch64', kernel: 'Image', initrd: 'i', append: 'console=ttyAMA0 boot=ram' });
  assert.equal(after(args, '-M'), 'virt');
  assert.equal(after(args, '-cpu'), 'cortex-a57');
  assert.equal(after(args, '-accel'), 'tcg');
  assert.equal(after(args, '-append'), 'console=ttyAMA0 boot=ram');
  assert.equal(after(args, '-kernel'), 'Image');
});

test('x86_64 is unchanged: no -M, -cpu max, no_timer_check appended', () => {
  const args = renderQemuArgs({ kernel: 'vmlinuz', initrd: 'i', append: 'console=ttyS0' });
  assert.ok(!args.includes('-M'));
  assert.equal(after(args, '-cpu'), 'max');
  assert.equal(after(args, '-append'), 'console=ttyS0 no_timer_check');
});
