// Stock a test or benchmark root with programs of this machine: each binary with its interpreter and shared
// libraries (resolved by src/elf/ as the builder resolves them, here against the host's /), each
// at the same path, symlinks kept as symlinks with their targets. The tests then build from that
// root, so the builder finds everything inside it as it would in any root; nothing is debootstrapped.
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { LibraryResolver } from '../elf/library-closure.js';
import { RootResolver } from '../rootfs/root-path.js';

/** Host file `path` into `root` at the same path; a symlink as a symlink, then its target. */
export function copyHostFile(root: string, path: string, hops = 0): void {
  const dest = join(root, path);
  mkdirSync(posix.dirname(dest), { recursive: true });
  const st = lstatSync(path);
  if (lstatSync(dest, { throwIfNoEntry: false })) return;
  if (st.isSymbolicLink()) {
    const target = readlinkSync(path);
    symlinkSync(target, dest);
    if (hops < 8) copyHostFile(root, target.startsWith('/') ? target : posix.join(posix.dirname(path), target), hops + 1);
    return;
  }
  copyFileSync(path, dest);
  chmodSync(dest, st.mode & 0o7777);
}

/** Every host binary in `binaries` with its closure into `root`; the host paths copied. */
export async function copyHostBinaries(root: string, binaries: readonly string[]): Promise<string[]> {
  const libraries = new LibraryResolver(new RootResolver('/'));
  const copied: string[] = [];
  for (const binary of binaries) {
    for (const object of await libraries.resolve(binary)) {
      copyHostFile(root, object.path);
      copied.push(object.path);
    }
  }
  return copied;
}
