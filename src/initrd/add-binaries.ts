// A hook's `binaries` into the plan: each executable of the TARGET root with its interpreter and
// every shared library (src/elf/library-closure.ts, nothing run), as initramfs-tools' copy_exec
// and dracut's inst_binary do. Each file goes in at the path the loader opens it under, and a
// symlink on the way stays a symlink, both link and target packed (libz.so.1 -> libz.so.1.2.13).
// Directory symlinks of the root (merged /usr: /lib -> usr/lib) are not copied as links: the
// initrd's /lib is a real directory (modules, the boot scripts), so such a path becomes real
// directories of the initrd, which name the same files.
import { readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { inputError } from '../errors.js';
import { LibraryResolver, type LoadedObject } from '../elf/library-closure.js';
import type { Hook } from '../hooks/hook.js';
import { MAX_SYMLINK_HOPS, RootResolver } from '../rootfs/root-path.js';
import type { InitrdPlan } from './plan.js';

/** One file the binaries brought, and every reason it is in (--explain). */
export interface BinaryFile {
  path: string;
  kind: 'file' | 'symlink';
  /** The link's target, for a symlink. */
  target?: string;
  pulledBy: string[];
}

/** Why `object` is in: `hook ssh: binary /usr/bin/ssh`, `hook ssh: libz.so.1 for /usr/bin/ssh (needed by /lib/.../libcrypto.so.3)`. */
function reasonOf(hook: Hook, binary: string, object: LoadedObject): string {
  if (object.name === 'executable') return `hook ${hook.name}: binary ${binary}`;
  const via = object.neededBy && object.neededBy !== binary ? ` (needed by ${object.neededBy})` : '';
  return `hook ${hook.name}: ${object.name === 'interpreter' ? 'interpreter' : object.name} for ${binary}${via}`;
}

class BinaryPacker {
  readonly files = new Map<string, BinaryFile>();

  constructor(
    private readonly plan: InitrdPlan,
    private readonly paths: RootResolver,
  ) {}

  private note(path: string, kind: BinaryFile['kind'], reason: string, target?: string): void {
    const entry = this.files.get(path) ?? { path, kind, ...(target === undefined ? {} : { target }), pulledBy: [] };
    if (!entry.pulledBy.includes(reason)) entry.pulledBy.push(reason);
    this.files.set(path, entry);
  }

  /** `path` (a root path with no `..`) into the plan at the same path, its final symlinks kept. */
  async pack(path: string, reason: string, hops = 0): Promise<void> {
    if (hops > MAX_SYMLINK_HOPS) throw inputError(`root entry ${path} goes through more than ${MAX_SYMLINK_HOPS} symlinks`, 'fix the symlink loop in the root');
    const entry = await this.paths.lookup(path, { followFinal: false });
    if (!entry) throw inputError(`root entry ${path} vanished while it was packed`, 'do not change the root during a build');
    if (!entry.stat.isSymbolicLink()) {
      if (!entry.stat.isFile()) throw inputError(`root entry ${path} is not a regular file`, 'list only executables in "binaries"');
      this.plan.add({ path, mode: entry.stat.mode & 0o7777, content: { kind: 'disk-file', path: entry.hostPath, size: entry.stat.size }, requestedBy: reason });
      this.note(path, 'file', reason);
      return;
    }
    const target = await readlink(entry.hostPath);
    // In the initrd the link resolves against real directories; keep its text only when that
    // names the same file as in the root, else point it at the file's real path.
    const inInitrd = posix.normalize(target.startsWith('/') ? target : posix.join(posix.dirname(path), target));
    const [viaInitrd, viaRoot] = await Promise.all([this.paths.lookup(inInitrd), this.paths.lookup(path)]);
    if (!viaRoot) throw inputError(`root entry ${path} is a dangling symlink (-> ${target})`, 'fix the link in the root');
    const keep = viaInitrd?.hostPath === viaRoot.hostPath;
    const linkText = keep ? target : viaRoot.rootPath;
    this.plan.addSymlink(path, linkText, reason);
    this.note(path, 'symlink', reason, linkText);
    await this.pack(keep ? inInitrd : viaRoot.rootPath, reason, hops + 1);
  }
}

/** Every hook's `binaries` with their closures into the plan; what went in, sorted by path. */
export async function addBinaries(plan: InitrdPlan, root: string, hooks: readonly Hook[]): Promise<BinaryFile[]> {
  const paths = new RootResolver(root);
  const libraries = new LibraryResolver(paths);
  const packer = new BinaryPacker(plan, paths);
  for (const hook of hooks) {
    for (const binary of hook.binaries) {
      const objects = await libraries.resolve(binary).catch((error: unknown) => {
        if (error instanceof Error) error.message = `hook ${hook.name}: ${error.message}`;
        throw error;
      });
      for (const object of objects) await packer.pack(object.path, reasonOf(hook, posix.normalize(`/${binary}`), object));
    }
  }
  return [...packer.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** --explain: each file the hooks' binaries brought, and who pulled it in. */
export function renderBinaryReport(files: readonly BinaryFile[]): string {
  if (files.length === 0) return '';
  const lines = [`binaries: ${files.length} files from the root`];
  for (const f of files) {
    lines.push(f.kind === 'symlink' ? `${f.path} -> ${f.target}` : f.path);
    for (const reason of f.pulledBy) lines.push(`    ${reason}`);
  }
  return `${lines.join('\n')}\n`;
}
