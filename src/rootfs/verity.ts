// The verity hook's build side: a dm-verity hash tree appended to rootfs.squashfs by the build
// host's `veritysetup format` (cryptsetup-bin), run on our own output file only. The root hash
// and the tree's layout go into the initrd (/etc/ram.conf RAM_VERITY_*), where lib/verity.sh maps
// the image through dm-verity with them: nothing about the tree is read from the image at boot.
// The tree sits in the same file, after the squashfs: squashfs ignores bytes past its own end,
// so the image still mounts (and unsquashfs/ramboot ls still read it) without dm-verity.
import { createHash } from 'node:crypto';
import { stat, truncate } from 'node:fs/promises';
import { toolError } from '../errors.js';
import { runTool } from '../util/run-tool.js';
import { sha256File } from '../util/sha256.js';

/** The name of the optional hook that asks the builder for the tree. */
export const VERITY_HOOK = 'verity';

/** dm-verity's usual block size for data and hash blocks (the page size). */
export const VERITY_BLOCK_SIZE = 4096;

export interface VerityTree {
  /** sha256 of the top hash block: the one value that pins every block of the image. */
  rootHash: string;
  salt: string;
  uuid: string;
  /** Bytes of squashfs (padded to whole blocks) before the tree: where the verity superblock starts. */
  hashOffset: number;
  dataBlocks: number;
  /** The whole file, tree included: what is served and what SHA256SUMS lists. */
  size: number;
  sha256: string;
}

/** A salt and a UUID that depend only on the image, so the same inputs give the same bytes
 * (veritysetup would pick random ones). The salt is still different for every image. */
export function deriveVerityIds(imageSha256: string): { salt: string; uuid: string } {
  const salt = createHash('sha256').update(`ramboot verity salt ${imageSha256}`).digest('hex');
  const u = createHash('sha256').update(`ramboot verity uuid ${imageSha256}`).digest('hex').slice(0, 32).split('');
  u[12] = '4'; // version 4 layout, as random UUIDs have
  u[16] = ((parseInt(u[16]!, 16) & 0x3) | 0x8).toString(16); // RFC 4122 variant
  const h = u.join('');
  return { salt, uuid: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` };
}

/** Pad `image` to whole verity blocks (mksquashfs already pads to 4 KiB unless -nopad) and
 * append its hash tree, with a verity superblock first (so `veritysetup verify IMG IMG ROOTHASH
 * --hash-offset=N` works on a copy). */
export async function appendVerityTree(image: string): Promise<VerityTree> {
  const squashSize = (await stat(image)).size;
  const hashOffset = Math.ceil(squashSize / VERITY_BLOCK_SIZE) * VERITY_BLOCK_SIZE;
  if (hashOffset !== squashSize) await truncate(image, hashOffset);
  const dataBlocks = hashOffset / VERITY_BLOCK_SIZE;
  const { salt, uuid } = deriveVerityIds(await sha256File(image));
  const { stdout } = await runTool('veritysetup', [
    'format',
    '--hash=sha256',
    `--data-block-size=${VERITY_BLOCK_SIZE}`,
    `--hash-block-size=${VERITY_BLOCK_SIZE}`,
    `--data-blocks=${dataBlocks}`,
    `--hash-offset=${hashOffset}`,
    `--salt=${salt}`,
    `--uuid=${uuid}`,
    image,
    image,
  ]);
  const rootHash = /^Root hash:\s*([0-9a-f]{64})\s*$/m.exec(stdout)?.[1];
  if (!rootHash) throw toolError(`veritysetup format printed no root hash for ${image}`, `its output was: ${stdout.trim().split('\n').slice(-3).join(' | ')}`);
  return { rootHash, salt, uuid, hashOffset, dataBlocks, size: (await stat(image)).size, sha256: await sha256File(image) };
}

/** The /etc/ram.conf facts lib/verity.sh maps the image with (RAM_VERITY_*). */
export function verityFacts(tree: VerityTree): Record<string, string> {
  return {
    VERITY_ROOTHASH: tree.rootHash,
    VERITY_SALT: tree.salt,
    VERITY_DATA_BLOCKS: String(tree.dataBlocks),
    VERITY_HASH_OFFSET: String(tree.hashOffset),
    VERITY_BLOCK_SIZE: String(VERITY_BLOCK_SIZE),
  };
}

/** Before any byte of a build is written: the tool is there. */
export async function checkVeritysetup(): Promise<void> {
  await runTool('veritysetup', ['--version']);
}
