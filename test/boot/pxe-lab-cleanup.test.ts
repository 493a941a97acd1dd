// A lab killed with SIGKILL cannot remove its namespace; the next lab removes the namespaces of
// labs whose process is gone and that hold no process, and leaves every other one alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { listNamespaces, removeStaleLabNamespaces } from '../../src/lab/pxe-lab/netns.ts';

const skip = process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root (network namespaces)';

test('stale lab namespaces (dead owner, no process) are removed; a live lab\'s and others\' are kept', { skip }, async () => {
  // Above the kernel's largest pid_max (4194304): no such process can exist.
  const dead = 'ramboot-lab-999999999-test';
  const live = `ramboot-lab-${process.pid}-test`;
  const other = `ramboot-other-${process.pid}`;
  for (const ns of [dead, live, other]) execFileSync('ip', ['netns', 'add', ns]);
  try {
    const removed = await removeStaleLabNamespaces();
    assert.ok(removed.includes(dead), `removed: ${removed.join(', ')}`);
    const left = await listNamespaces();
    assert.ok(!left.includes(dead));
    assert.ok(left.includes(live), 'the namespace of a running lab stays');
    assert.ok(left.includes(other), 'a namespace that is not a lab\'s stays');
  } finally {
    for (const ns of [dead, live, other]) if ((await listNamespaces()).includes(ns)) execFileSync('ip', ['netns', 'del', ns]);
  }
});
