// src/rootfs/verity.ts: the hash tree appended to a squashfs by the host's veritysetup, with a
// salt and UUID derived from the image, so the same image gives the same bytes; the image still
// reads as a squashfs (the tree is past its end); `veritysetup verify` is the oracle.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendVerityTree, deriveVerityIds, verityFacts } from '../../src/rootfs/verity.ts';
import { skipWithout } from '../support/require-tool.ts';

const skip = skipWithout('veritysetup', ['--version'], 'apt-get install cryptsetup-bin (scripts/setup.sh)');
const work = mkdtempSync(join(tmpdir(), 'ramboot-verity-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A small squashfs; -nopad leaves its size off the 4 KiB grid, as a foreign image might be. */
function squashfs(name: string, pad: boolean): string {
  const tree = join(work, `${name}-tree`);
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'hello'), 'hello verity\n');
  const image = join(work, `${name}.squashfs`);
  execFileSync('mksquashfs', [tree, image, '-noappend', '-quiet', '-all-root', '-mkfs-time', '0', '-all-time', '0', ...(pad ? [] : ['-nopad'])], { stdio: 'ignore' });
  return image;
}

test('derived ids: a 64-hex salt and an RFC 4122 version-4 UUID, the same for the same image', () => {
  const a = deriveVerityIds('0'.repeat(64));
  assert.match(a.salt, /^[0-9a-f]{64}$/);
  assert.match(a.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(deriveVerityIds('0'.repeat(64)), a);
  assert.notEqual(deriveVerityIds('1'.repeat(64)).salt, a.salt);
});

test('appendVerityTree: the tree after the (padded) squashfs verifies, twice the same bytes, and the squashfs still reads', { skip }, async () => {
  const image = squashfs('unpadded', false);
  const squashSize = statSync(image).size;
  assert.notEqual(squashSize % 4096, 0, 'the test image is off the 4 KiB grid');
  const copy = join(work, 'copy.squashfs');
  copyFileSync(image, copy);
  const tree = await appendVerityTree(image);
  const again = await appendVerityTree(copy);
  assert.deepEqual(again, tree, 'same image, same tree');
  assert.ok(readFileSync(image).equals(readFileSync(copy)));
  assert.equal(tree.hashOffset, Math.ceil(squashSize / 4096) * 4096);
  assert.equal(tree.dataBlocks, tree.hashOffset / 4096);
  assert.equal(tree.size, statSync(image).size);
  assert.equal(tree.sha256, execFileSync('sha256sum', [image], { encoding: 'utf8' }).slice(0, 64));
  const verify = spawnSync('veritysetup', ['verify', `--hash-offset=${tree.hashOffset}`, image, image, tree.rootHash], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  const wrong = spawnSync('veritysetup', ['verify', `--hash-offset=${tree.hashOffset}`, image, image, 'f'.repeat(64)], { encoding: 'utf8' });
  assert.notEqual(wrong.status, 0, 'another root hash is refused');
  const dump = execFileSync('veritysetup', ['dump', `--hash-offset=${tree.hashOffset}`, image], { encoding: 'utf8' });
  assert.match(dump, new RegExp(`^UUID:\\s+${tree.uuid}$`, 'm'));
  assert.match(dump, new RegExp(`^Salt:\\s+${tree.salt}$`, 'm'));
  assert.equal(execFileSync('unsquashfs', ['-cat', image, 'hello'], { encoding: 'utf8' }), 'hello verity\n');
  assert.deepEqual(verityFacts(tree), {
    VERITY_ROOTHASH: tree.rootHash,
    VERITY_SALT: tree.salt,
    VERITY_DATA_BLOCKS: String(tree.dataBlocks),
    VERITY_HASH_OFFSET: String(tree.hashOffset),
    VERITY_BLOCK_SIZE: '4096',
  });
});
