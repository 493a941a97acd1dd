import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InitrdPlan, normalizeArchivePath } from '../../src/initrd/plan.ts';

test('parents are filled in and entries come out sorted, parents first', () => {
  const plan = new InitrdPlan();
  plan.addFile('usr/lib/x/y.txt', Buffer.from('y'), 'test');
  plan.addFile('bin-z', Buffer.from('z'), 'test');
  plan.addSymlink('bin/sh', 'busybox', 'test');
  const paths = plan.list().map((i) => i.path);
  assert.deepEqual(paths, ['bin', 'bin-z', 'bin/sh', 'usr', 'usr/lib', 'usr/lib/x', 'usr/lib/x/y.txt']);
});

test('a conflict names both requesters; identical requests are fine', () => {
  const plan = new InitrdPlan();
  plan.addFile('etc/a', Buffer.from('1'), 'hook one');
  plan.addFile('etc/a', Buffer.from('1'), 'hook two');
  assert.throws(() => plan.addFile('/etc/a', Buffer.from('2'), 'hook three'), /conflict at \/etc\/a: file \(hook one\) vs file \(hook three\)/);
  plan.addFile('lib', Buffer.from('x'), 'hook four');
  plan.addFile('lib/m.ko', Buffer.from('m'), 'modules');
  assert.throws(() => plan.list(), /conflict at \/lib: file \(hook four\) is also the parent directory of \/lib\/m.ko/);
});

test('paths cannot leave the root', () => {
  assert.equal(normalizeArchivePath('/./a//b/'), 'a/b');
  assert.throws(() => normalizeArchivePath('../etc/passwd'), /leaves the initrd root/);
  assert.throws(() => normalizeArchivePath('/'), /not a file path/);
});

test('cpio entries carry the given mtime and root ownership', () => {
  const plan = new InitrdPlan();
  plan.add({ path: 'dev/console', mode: 0o600, content: { kind: 'chardev', major: 5, minor: 1 }, requestedBy: 'test' });
  const entries = [...plan.toCpioEntries(1700000000)];
  assert.deepEqual(entries.map((e) => [e.path, e.type, e.mtime, e.uid]), [['dev', 'dir', 1700000000, 0], ['dev/console', 'chardev', 1700000000, 0]]);
  assert.equal(entries[1]!.rdevMajor, 5);
});
