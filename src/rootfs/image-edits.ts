// Image edits: changes a diskless root needs that an exclude alone cannot express, made inside
// the squashfs only: the source tree is never touched. (Not to be confused with the boot-time
// `fixups` stage, initrd-scripts/lib/fixups.sh, which edits the mounted overlay.) Each edit is an exclude of the original plus a
// mksquashfs pseudo file definition (mksquashfs(1) "Pseudo file definition format"; with the
// original excluded, the pseudo file takes its place — tested in test/rootfs).
import { lookupInRoot } from './root-path.js';

export interface ImageEdits {
  /** mksquashfs -wildcards patterns for the originals being replaced. */
  excludes: string[];
  /** mksquashfs -p definitions, one argument each. */
  pseudo: string[];
  /** What was done, for the result and the log. */
  applied: string[];
}

/** /etc/machine-id becomes an EMPTY file. machine-id(5): when it is empty, systemd generates a
 * transient id at each boot and mounts it over the file, so every node booting the image gets
 * its own id instead of sharing the build's. An absent file is left absent. */
async function emptyMachineId(root: string, out: ImageEdits): Promise<void> {
  // The file itself, not what it links to (followFinal: false), found inside the root. The
  // exclude and the pseudo file name the literal path etc/machine-id, which mksquashfs matches
  // only when no directory on the way is a symlink: when one is (etc -> elsewhere), leave it be.
  const entry = await lookupInRoot(root, 'etc/machine-id', { followFinal: false });
  if (!entry || entry.rootPath !== '/etc/machine-id' || entry.stat.isDirectory()) return;
  const st = entry.stat;
  // `F time mode uid gid command`: a file filled from the command's stdout; `true` prints nothing.
  // The time is the original's, so the tree alone decides the bytes (SOURCE_DATE_EPOCH clamps it).
  out.excludes.push('etc/machine-id');
  const mtime = Math.min(Math.max(Math.floor(st.mtimeMs / 1000), 0), 0xffffffff); // squashfs times are u32
  out.pseudo.push(`etc/machine-id F ${mtime} 0444 0 0 true`);
  out.applied.push('/etc/machine-id emptied');
}

export async function planImageEdits(root: string): Promise<ImageEdits> {
  const edits: ImageEdits = { excludes: [], pseudo: [], applied: [] };
  await emptyMachineId(root, edits);
  return edits;
}
