// src/rootfs/root-path.ts: paths of a root tree resolved the way a chroot sees them. Absolute
// links start again at the root, relative ones at their directory, `..` above the root and
// symlink loops are one-line errors naming the link, and nothing outside the root is looked at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RambootError } from '../../src/errors.ts';
import { planImageEdits } from '../../src/rootfs/image-edits.ts';
import { lookupInRoot, resolveInRoot, RootResolver } from '../../src/rootfs/root-path.ts';

let work: string;
let root: string;
let host: string;

function file(base: string, rel: string, content = rel): void {
  mkdirSync(dirname(join(base, rel)), { recursive: true });
  writeFileSync(join(base, rel), content);
}

function link(base: string, rel: string, target: string): void {
  mkdirSync(dirname(join(base, rel)), { recursive: true });
  symlinkSync(target, join(base, rel));
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ramboot-root-path-'));
  root = join(work, 'root');
  host = join(work, 'host');
  file(host, 'secret', 'host secret');
  file(host, 'etc/machine-id', '0123456789abcdef0123456789abcdef\n');
  file(root, 'boot/vmlinuz-6.1.0-real', 'kernel');
  file(root, 'usr/lib/modules/6.1.0/modules.dep', '');
  link(root, 'lib', 'usr/lib'); // merged /usr, relative
  link(root, 'vmlinuz', 'boot/vmlinuz-6.1.0-real'); // Debian's top-level link, relative
  link(root, 'boot/vmlinuz-6.1.0', '/boot/vmlinuz-6.1.0-real'); // absolute, inside the root
  link(root, 'boot/chain-1', 'chain-2');
  link(root, 'boot/chain-2', '/boot/./chain-3');
  link(root, 'boot/chain-3', '../vmlinuz');
  link(root, 'boot/host-abs', join(host, 'secret'));
  link(root, 'boot/host-rel', `${'../'.repeat(12)}${join(host, 'secret').slice(1)}`);
  link(root, 'boot/slash-dotdot', '/../boot/vmlinuz-6.1.0-real');
  link(root, 'boot/loop-a', 'loop-b');
  link(root, 'boot/loop-b', '/boot/loop-a');
  link(root, 'boot/self', 'self');
  link(root, 'boot/dangling', '/nowhere/at/all');
  link(root, 'hostdir', host);
});
after(() => rmSync(work, { recursive: true, force: true }));

function leaves(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof RambootError && error.code === 'input', String(error));
    assert.match(error.toLine(), pattern);
    assert.doesNotMatch(error.toLine(), /\n/);
    return true;
  };
}

test('absolute and relative links, chains, merged /usr: the host path of the final target', async () => {
  const paths = new RootResolver(root);
  for (const asked of ['/vmlinuz', 'boot/vmlinuz-6.1.0', '/boot/chain-1', 'usr/../boot/./vmlinuz-6.1.0-real']) {
    const entry = await paths.lookup(asked);
    assert.equal(entry?.hostPath, join(root, 'boot/vmlinuz-6.1.0-real'), asked);
    assert.equal(entry?.rootPath, '/boot/vmlinuz-6.1.0-real');
    assert.ok(entry?.stat.isFile());
  }
  assert.equal(await resolveInRoot(root, '/lib/modules/6.1.0/modules.dep'), join(root, 'usr/lib/modules/6.1.0/modules.dep'));
  assert.equal((await lookupInRoot(root, '/'))?.hostPath, root);
});

test('a link to a host path names the root\'s path of that name: absent here', async () => {
  assert.equal(await lookupInRoot(root, 'boot/host-abs'), undefined);
  assert.equal(await lookupInRoot(root, 'hostdir/secret'), undefined);
  assert.equal(await lookupInRoot(root, 'boot/dangling'), undefined);
  assert.equal(await lookupInRoot(root, 'boot/vmlinuz-6.1.0-real/not-a-dir'), undefined);
  await assert.rejects(resolveInRoot(root, 'boot/host-abs', 'kernel image'), leaves(/^kernel image \/boot\/host-abs is not in the root .* \(hint: /));
});

test('a link that climbs above the root is an error naming it and its target; so is a path that does', async () => {
  await assert.rejects(lookupInRoot(root, 'boot/host-rel'), leaves(/^root entry \/boot\/host-rel is a symlink that leaves the root \(-> (\.\.\/){12}.*\/host\/secret\) \(hint: /));
  await assert.rejects(lookupInRoot(root, 'boot/slash-dotdot'), leaves(/^root entry \/boot\/slash-dotdot is a symlink that leaves the root \(-> \/\.\.\/boot\/vmlinuz-6\.1\.0-real\)/));
  // `..` works on the resolved path, as in the kernel: lib is usr/lib, so lib/../.. is the top.
  assert.equal(await lookupInRoot(root, 'lib/../../etc/passwd'), undefined);
  await assert.rejects(lookupInRoot(root, 'boot/../../etc/passwd'), leaves(/^root path \/boot\/\.\.\/\.\.\/etc\/passwd leaves the root/));
  // Through a link on the way, the message says which path was being read.
  link(root, 'escape-dir', '../..');
  await assert.rejects(lookupInRoot(root, 'escape-dir/x'), leaves(/^root entry \/escape-dir is a symlink that leaves the root \(-> \.\.\/\.\.\), reading \/escape-dir\/x/));
});

test('symlink loops stop after 40 links with an error', async () => {
  await assert.rejects(lookupInRoot(root, 'boot/loop-a'), leaves(/^root entry \/boot\/loop-a goes through more than 40 symlinks \(a loop at \/boot\/loop-[ab] -> /));
  await assert.rejects(lookupInRoot(root, 'boot/self/x'), leaves(/more than 40 symlinks/));
});

test('followFinal: false gives the link itself', async () => {
  const entry = await lookupInRoot(root, 'boot/host-abs', { followFinal: false });
  assert.equal(entry?.rootPath, '/boot/host-abs');
  assert.ok(entry?.stat.isSymbolicLink());
});

test('image edits: /etc/machine-id behind a symlinked /etc to the host is not looked at', async () => {
  const tree = join(work, 'fixups');
  mkdirSync(tree);
  symlinkSync(join(host, 'etc'), join(tree, 'etc'));
  assert.deepEqual((await planImageEdits(tree)).applied, []);
  // The root's own file is emptied, as before.
  rmSync(join(tree, 'etc'));
  file(tree, 'etc/machine-id', 'abc\n');
  assert.deepEqual((await planImageEdits(tree)).applied, ['/etc/machine-id emptied']);
});
