// What the tree writer has made so far, path by path ("binary string" paths, entry-path.ts):
// the kind of every node and how many children each directory has, and the newc hard-link
// groups of the current archive. The target starts empty, so this map is the whole truth about
// it: the writer decides from here, never by looking at the disk (which could be raced).
import type { EntryKind } from './entry.js';

export interface TreeNode {
  kind: EntryKind;
  children: number;
  linkTarget?: Buffer;
}

export class TreeNodes {
  /** Nodes created (directories, files, links, device nodes). */
  created = 0;
  private readonly nodes = new Map<string, TreeNode>([['', { kind: 'dir', children: 0 }]]);

  get(rel: string): TreeNode | undefined {
    return this.nodes.get(rel);
  }

  add(rel: string, kind: EntryKind, linkTarget?: Buffer): void {
    const had = this.nodes.has(rel);
    this.nodes.set(rel, { kind, children: 0, linkTarget });
    this.created++;
    if (!had) this.nodes.get(parentOf(rel))!.children++;
  }

  remove(rel: string): void {
    if (!this.nodes.delete(rel)) return;
    this.nodes.get(parentOf(rel))!.children--;
  }
}

/**
 * newc hard links (init/initramfs.c maybe_link): members of a group share an inode; GNU cpio
 * stores the data with the last member and the others empty. Forgotten at each TRAILER!!!.
 */
export class LinkGroups {
  private readonly members = new Map<string, string[]>();
  private readonly memberOf = new Map<string, string>();

  /** A member of `group` still in place, to link a new empty member to. */
  first(group: string): string | undefined {
    return this.members.get(group)?.find((m) => this.memberOf.get(m) === group);
  }

  /** Adds `rel`; returns the earlier members still in place (to re-point when `rel` holds the data). */
  join(rel: string, group: string): string[] {
    const list = this.members.get(group) ?? [];
    this.members.set(group, list);
    const earlier = list.filter((m) => m !== rel && this.memberOf.get(m) === group);
    if (!list.includes(rel)) list.push(rel);
    this.memberOf.set(rel, group);
    return earlier;
  }

  /** The path no longer holds a member (it was replaced or removed). */
  forget(rel: string): void {
    this.memberOf.delete(rel);
  }

  clear(): void {
    this.members.clear();
    this.memberOf.clear();
  }
}

export function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}
