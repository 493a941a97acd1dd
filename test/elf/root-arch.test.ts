// Which architecture a root is for (src/elf/root-arch.ts), read from its own ELF headers with
// paths resolved inside the root, and --arch checked against it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hostArch } from '../../src/elf/machine.ts';
import { resolveArch, rootArchEvidence } from '../../src/elf/root-arch.ts';
import { makeElf } from './make-elf.ts';

function withRoot(files: Record<string, Buffer | string | { link: string }>, run: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ramboot-root-arch-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    if (typeof content === 'object' && 'link' in content) symlinkSync(content.link, join(root, rel));
    else writeFileSync(join(root, rel), content);
  }
  return run(root).finally(() => rmSync(root, { recursive: true, force: true }));
}

const arm64 = makeElf({ machine: 183 });
const amd64 = makeElf({ machine: 62 });

test('a script init is skipped; /bin/sh, an absolute link, is followed inside the root to an arm64 busybox', () =>
  withRoot({ 'sbin/init': '#!/bin/sh\necho hi\n', 'bin/sh': { link: '/bin/busybox' }, 'bin/busybox': arm64 }, async (root) => {
    assert.deepEqual(await rootArchEvidence(root), { arch: 'arm64', machine: 183, file: '/bin/sh' });
    assert.equal(await resolveArch(root, undefined), 'arm64');
    assert.equal(await resolveArch(root, 'arm64'), 'arm64');
  }));

test('--arch that the root contradicts is a one-line error naming the file', () =>
  withRoot({ 'lib/systemd/systemd': amd64, 'sbin/init': { link: '../lib/systemd/systemd' } }, async (root) => {
    await assert.rejects(resolveArch(root, 'arm64'), (e: any) => /--arch arm64, but the root's \/sbin\/init is amd64/.test(e.message) && /drop --arch/.test(e.hint));
  }));

test('a link out of the root is not followed to the host: the module tree decides', () =>
  withRoot({ 'bin/sh': { link: '../../../../../../bin/sh' }, 'lib/modules/1/kernel/a/m.ko': arm64 }, async (root) => {
    const evidence = await rootArchEvidence(root, join(root, 'lib/modules/1'));
    assert.equal(evidence?.arch, 'arm64');
    assert.match(evidence?.file ?? '', /^module kernel\/a\/m\.ko$/);
  }));

test('another CPU is refused; a root with no ELF file builds for this host', async () => {
  await withRoot({ 'bin/sh': makeElf({ machine: 243 }) }, async (root) => {
    await assert.rejects(resolveArch(root, undefined), /\/bin\/sh is a riscv binary; ramboot builds amd64 and arm64 sets/);
  });
  await withRoot({ 'sbin/init': '#!/bin/sh\n' }, async (root) => {
    assert.equal(await rootArchEvidence(root), undefined);
    assert.equal(await resolveArch(root, undefined), hostArch());
  });
});
