// Paths of a root tree as the root itself sees them. A root may come from anywhere (a `docker
// export`, a colleague's chroot), and an absolute symlink in a normal chroot (Debian's
// `vmlinuz -> boot/vmlinuz-...`, merged-/usr's `/lib/modules/...`) means a path of that root,
// never of the build host. So every path the builder reads from a root is walked here one
// component at a time with lstat, the way openat2(RESOLVE_IN_ROOT) or a chroot resolves it:
//   - an absolute symlink target starts again at the root, a relative one at the link's directory;
//   - `..` goes up one directory of the ROOT; a `..` above the root is an error naming the link
//     (RESOLVE_IN_ROOT would clamp it to the root instead, but a link that climbs out of its tree
//     is a broken or hostile root: issue 9 asks for an error, not a guess);
//   - more than 40 links in one lookup (Linux's MAXSYMLINKS) is a loop, and an error;
//   - the answer is the host path of the final target, which holds no symlink anywhere, so a
//     later open() of it cannot be redirected (nothing else writes the root during a build).
// host-probe.ts reads the HOST's /sys on purpose (--host-only) and does not come through here.
import type { Stats } from 'node:fs';
import { lstat, readlink, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { inputError, RambootError } from '../errors.js';

/** Linux gives up after this many symlinks in one path walk (MAXSYMLINKS, fs/namei.c). */
export const MAX_SYMLINK_HOPS = 40;

const ESCAPE_HINT = 'fix or remove that link in the root: an absolute link is read inside the root, a relative one may not climb above it';

export interface RootEntry {
  /** Host path of the final target: no component of it is a symlink (unless followFinal: false). */
  hostPath: string;
  /** The same target as the root sees it, e.g. '/boot/real-vmlinuz'. */
  rootPath: string;
  /** lstat of hostPath. */
  stat: Stats;
}

export interface LookupOptions {
  /** Follow a symlink in the last component (default true); false gives the link itself. */
  followFinal?: boolean;
}

interface Node {
  stat: Stats;
  /** The link's target, for a symlink. */
  target?: string;
}

/** A component still to walk; `via` is the symlink whose target it came from, for errors. */
interface Step {
  name: string;
  via?: { link: string; target: string };
}

const steps = (path: string, via?: Step['via']): Step[] => path.split('/').filter((n) => n !== '' && n !== '.').map((name) => ({ name, via }));
const rootPathOf = (parts: readonly string[]) => `/${parts.join('/')}`;

/** Resolves paths of one root tree. lstat and readlink answers are kept, so many lookups under
 * the same directories (every module of a kernel) cost about one lstat each. */
export class RootResolver {
  readonly root: string;
  private readonly nodes = new Map<string, Promise<Node | undefined>>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The entry at `path` (absolute or relative, both from the root's top), or undefined when some
   * component does not exist or is not a directory. Throws for links leaving the root and loops. */
  async lookup(path: string, options: LookupOptions = {}): Promise<RootEntry | undefined> {
    const asked = rootPathOf(steps(path).map((s) => s.name));
    const todo = steps(path);
    let at: string[] = [];
    let hops = 0;
    for (let step = todo.shift(); step; step = todo.shift()) {
      if (step.name === '..') {
        if (at.length === 0) throw this.escape(asked, step);
        at = at.slice(0, -1);
        continue;
      }
      const next = [...at, step.name];
      const node = await this.node(next);
      if (!node) return undefined;
      const last = todo.length === 0;
      if (node.target !== undefined && (!last || options.followFinal !== false)) {
        const link = rootPathOf(next);
        if (++hops > MAX_SYMLINK_HOPS) {
          throw inputError(`root entry ${asked} goes through more than ${MAX_SYMLINK_HOPS} symlinks (a loop at ${link} -> ${node.target})`, 'fix the symlink loop in the root');
        }
        todo.unshift(...steps(node.target, { link, target: node.target }));
        if (node.target.startsWith('/')) at = [];
        continue;
      }
      if (!last && !node.stat.isDirectory()) return undefined;
      at = next;
    }
    const final = at.length === 0 ? await this.top() : await this.node(at);
    return final && { hostPath: join(this.root, ...at), rootPath: rootPathOf(at), stat: final.stat };
  }

  /** The host path of `path`'s final target (see lookup); `what` names it in the not-found error. */
  async resolve(path: string, what = 'root entry'): Promise<string> {
    const entry = await this.lookup(path);
    if (!entry) throw inputError(`${what} ${rootPathOf(steps(path).map((s) => s.name))} is not in the root ${this.root}`, 'an absolute symlink in a root is read inside that root: install the file into the root');
    return entry.hostPath;
  }

  private escape(asked: string, step: Step): RambootError {
    if (!step.via) {
      return inputError(`root path ${asked} leaves the root (a .. above its top)`, 'a path the root names (modules.dep, a firmware= name) may not climb above it: fix the file that names it');
    }
    const reading = step.via.link === asked ? '' : `, reading ${asked}`;
    return inputError(`root entry ${step.via.link} is a symlink that leaves the root (-> ${step.via.target})${reading}`, ESCAPE_HINT);
  }

  /** The root directory itself: given by the user, so a symlink to it is followed. */
  private async top(): Promise<Node | undefined> {
    return stat(this.root).then(
      (st) => ({ stat: st }),
      () => undefined,
    );
  }

  private node(parts: readonly string[]): Promise<Node | undefined> {
    const key = parts.join('/');
    let node = this.nodes.get(key);
    if (!node) {
      node = this.readNode(join(this.root, ...parts), rootPathOf(parts));
      this.nodes.set(key, node);
    }
    return node;
  }

  private async readNode(hostPath: string, rootPath: string): Promise<Node | undefined> {
    try {
      const stat = await lstat(hostPath);
      return stat.isSymbolicLink() ? { stat, target: await readlink(hostPath) } : { stat };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new RambootError('io', `cannot read root entry ${rootPath}: ${code ?? (error as Error).message}`, 'check the permissions of the root tree');
    }
  }
}

/** One lookup in `root` (see RootResolver.lookup). */
export function lookupInRoot(root: string, path: string, options?: LookupOptions): Promise<RootEntry | undefined> {
  return new RootResolver(root).lookup(path, options);
}

/** The host path of `path` inside `root`, symlinks resolved inside the root; an error when absent. */
export function resolveInRoot(root: string, path: string, what?: string): Promise<string> {
  return new RootResolver(root).resolve(path, what);
}
