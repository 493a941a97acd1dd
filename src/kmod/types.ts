// The shapes src/kmod/ hands to the initrd builder (src/initrd/add-modules.ts).

export interface ModuleInfo {
  /** Canonical module name, '-' normalized to '_' (file lzo-rle.ko -> lzo_rle). */
  name: string;
  /** Relative to the modules dir, as found: 'kernel/fs/squashfs/squashfs.ko' (or .ko.xz/.ko.zst/.ko.gz). */
  path: string;
  /** Canonical names. From .modinfo these are the direct dependencies; from modules.dep, the
   * whole list depmod wrote (all transitive ones). The closure is the same either way. */
  depends: string[];
  /** Names or aliases, as written in `softdep=` / modules.softdep. */
  softdepPre: string[];
  softdepPost: string[];
  /** `weakdep=` names (Linux 6.10+): packed with the module, loaded by no one eagerly. */
  weakdeps: string[];
  /** Alias patterns (glob syntax as in modules.alias). */
  aliases: string[];
  /** Firmware file names relative to /lib/firmware (`firmware=`). */
  firmware: string[];
}

export interface ModuleIndex {
  kver: string;
  /** Host path of the modules dir (…/lib/modules/KVER), symlinks resolved inside `root`. */
  dir: string;
  /** Host path of the tree every module file is resolved inside (src/rootfs/root-path.ts): the
   * target root, or the modules dir itself when no root was given. */
  root: string;
  /** The modules dir as `root` sees it: '/lib/modules/KVER' (or '/' when it is the root). */
  dirInRoot: string;
  modules: Map<string, ModuleInfo>;
  /** Canonical names of modules built into the kernel image. */
  builtin: Set<string>;
  /** modules.builtin as read (paths), so the initrd's copy is complete. */
  builtinPaths: string[];
  /** Alias patterns of built-in modules (from modules.builtin.modinfo) -> canonical names. */
  builtinAliases: Map<string, string[]>;
  /** Where dependencies came from: depmod's index files, or each module's .modinfo. */
  source: 'modules.dep' | 'modinfo';
  /** Oddities that did not stop the read (duplicate module names, …). */
  warnings: string[];
  /** Modules whose .modinfo is not read yet, so their `firmware` and `weakdeps` are still empty:
   * readModuleIndex(…, { modinfo: 'on-demand' }) over depmod's index files reads it only for the
   * modules a build packs (readModinfoOf). Absent: every module's was read. */
  modinfoUnread?: Set<string>;
}

export interface ModuleRequest {
  /** A module name ('virtio_net' or 'virtio-net'), an alias to match against alias patterns
   * ('pci:v00008086d000010D3sv…', 'fs-squashfs', 'crypto-lzo-rle'), a module path
   * ('kernel/fs/squashfs/squashfs.ko') or a directory prefix ending in '/' ('kernel/drivers/net/'). */
  spec: string;
  optional?: boolean;
  reason: string;
}

export interface ResolvedModule {
  info: ModuleInfo;
  /** e.g. 'hook netboot: virtio_net', 'dependency of virtio_net'. */
  reasons: string[];
}

export interface Resolution {
  /** The closure (depends, plus softdeps and weakdeps that exist), dependencies before dependents; deterministic. */
  modules: ResolvedModule[];
  /** Canonical names of requested modules that are built into the kernel (nothing to pack). */
  builtin: string[];
  /** Requests that matched nothing (optional ones too — the caller decides). */
  missing: ModuleRequest[];
}
