// Everything an executable of a root needs to start: its interpreter and every shared library,
// found the way glibc's loader finds them (elf/dl-load.c, _dl_map_object; ld.so(8) "Rpath token
// expansion" and the search order), but by reading files, never by running the root's loader:
//   - objects are loaded breadth first, each DT_NEEDED of an object in the order listed; a name
//     already loaded (by the name it was loaded under, or its DT_SONAME) is not loaded again;
//   - a name with a slash is a path; else, when the requesting object has no DT_RUNPATH, the
//     DT_RPATH of that object and of each object that loaded it, up to the executable; then the
//     requester's DT_RUNPATH; then the root's ld.so.conf directories (what its ld.so.cache holds);
//     then the default directories. An object with DT_RUNPATH has its DT_RPATH ignored;
//   - $ORIGIN is the directory of the path a library was opened under (not its realpath, as
//     _dl_new_object computes it) and of the executable's real path (/proc/self/exe), $LIB the multiarch lib directory, $PLATFORM the machine name;
//   - a candidate that is not an ELF file of the executable's class and machine is skipped, as
//     the loader skips it (a 32-bit library in /usr/lib).
// The root's glibc-hwcaps subdirectories (CPU-specific builds the loader may prefer) are not
// searched: the baseline build found here runs on every CPU.
import { posix } from 'node:path';
import { inputError } from '../errors.js';
import type { RootResolver } from '../rootfs/root-path.js';
import { readElfDynamic, type ElfDynamic } from './elf-dynamic.js';
import { DEFAULT_LIBRARY_DIRS, readLdSoConfDirs } from './ld-so-conf.js';

const EM_X86_64 = 62;
const EM_386 = 3;
const EM_AARCH64 = 183;
/** What $LIB and $PLATFORM expand to on Debian's multiarch glibc, per e_machine. */
const DST_BY_MACHINE: Record<number, { lib: string; platform: string }> = {
  [EM_X86_64]: { lib: 'lib/x86_64-linux-gnu', platform: 'x86_64' },
  [EM_386]: { lib: 'lib/i386-linux-gnu', platform: 'i686' },
  [EM_AARCH64]: { lib: 'lib/aarch64-linux-gnu', platform: 'aarch64' },
};

export interface LoadedObject {
  /** The path the loader opens it under, as the root sees it (e.g. /lib/x86_64-linux-gnu/libc.so.6). */
  path: string;
  /** The DT_NEEDED name that pulled it in, or 'executable' / 'interpreter'. */
  name: string;
  /** Path of the object whose DT_NEEDED (or PT_INTERP) named it; undefined for the executable. */
  neededBy: string | undefined;
}

interface Mapped extends LoadedObject {
  elf: ElfDynamic;
  /** What $ORIGIN expands to for this object. */
  origin: string;
  loader: Mapped | undefined;
}

/** Shared per root: its ld.so.conf is read once, and each file's ELF facts once. */
export class LibraryResolver {
  private confDirs: Promise<string[]> | undefined;
  private readonly elfs = new Map<string, Promise<ElfDynamic | undefined>>();

  constructor(readonly paths: RootResolver) {}

  private async elfAt(path: string): Promise<ElfDynamic | undefined> {
    let found = this.elfs.get(path);
    if (!found) {
      found = this.paths.lookup(path).then((entry) => (entry?.stat.isFile() ? readElfDynamic(entry.hostPath) : undefined));
      this.elfs.set(path, found);
    }
    return found;
  }

  private searchDirs(): Promise<string[]> {
    this.confDirs ??= readLdSoConfDirs(this.paths);
    return this.confDirs;
  }

  private expand(dir: string, object: Mapped, machine: number): string {
    const dst = DST_BY_MACHINE[machine] ?? { lib: 'lib', platform: '' };
    return dir
      .replace(/\$(ORIGIN|\{ORIGIN\})/g, object.origin)
      .replace(/\$(LIB|\{LIB\})/g, dst.lib)
      .replace(/\$(PLATFORM|\{PLATFORM\})/g, dst.platform);
  }

  /** Candidate directories for a name `requester` needs, in the loader's order. */
  private async candidates(requester: Mapped, machine: number): Promise<string[]> {
    const dirs: string[] = [];
    if (!requester.elf.hasRunpath) {
      for (let l: Mapped | undefined = requester; l; l = l.loader) dirs.push(...l.elf.rpath.map((d) => this.expand(d, l!, machine)));
    }
    dirs.push(...requester.elf.runpath.map((d) => this.expand(d, requester, machine)));
    dirs.push(...(await this.searchDirs()), ...DEFAULT_LIBRARY_DIRS);
    return dirs.map((d) => posix.normalize(d.startsWith('/') ? d : `/${d}`));
  }

  private async usable(path: string, exe: ElfDynamic): Promise<ElfDynamic | undefined> {
    const elf = await this.elfAt(path);
    return elf && elf.is64 === exe.is64 && elf.machine === exe.machine ? elf : undefined;
  }

  /** The executable `binary` (a path of the root) and everything it loads, executable first,
   * then the interpreter, then libraries in load order. A missing library is an error naming the
   * binary, the library and the object that needs it. */
  async resolve(binary: string): Promise<LoadedObject[]> {
    const exePath = posix.normalize(`/${binary}`);
    const exe = await this.elfAt(exePath);
    if (!exe) {
      const entry = await this.paths.lookup(exePath);
      throw inputError(
        entry ? `binary ${exePath} is not an ELF executable` : `binary ${exePath} is not in the root`,
        entry ? 'list a script under "files" and the programs it runs under "binaries"' : 'install it into the root, or fix the path in "binaries"',
      );
    }
    // A program the kernel starts gets $ORIGIN from /proc/self/exe, its real path (ld.so(8)):
    // /usr/bin/javac -> /usr/lib/jvm/.../bin/javac finds ../lib from there.
    const real = (await this.paths.lookup(exePath))!.rootPath;
    const main: Mapped = { path: exePath, name: 'executable', neededBy: undefined, elf: exe, origin: posix.dirname(real), loader: undefined };
    const loaded: Mapped[] = [main];
    const known = new Map<string, Mapped>();
    const remember = (m: Mapped, name: string) => {
      known.set(name, m);
      known.set(m.path, m);
      if (m.elf.soname) known.set(m.elf.soname, m);
    };
    remember(main, exePath);
    if (exe.interpreter) {
      const elf = await this.usable(exe.interpreter, exe);
      if (!elf) throw inputError(`binary ${exePath} needs its interpreter ${exe.interpreter}, which the root does not have`, 'install the root\'s libc into it');
      const path = posix.normalize(exe.interpreter);
      const interp: Mapped = { path, name: 'interpreter', neededBy: exePath, elf, origin: posix.dirname(path), loader: main };
      loaded.push(interp);
      remember(interp, posix.basename(interp.path));
    }
    for (let i = 0; i < loaded.length; i++) {
      const requester = loaded[i]!;
      for (const name of requester.elf.needed) {
        if (known.has(name)) continue;
        const found = await this.find(name, requester, exe);
        if (!found) {
          const via = requester.path === exePath ? '' : ` (needed by ${requester.path})`;
          throw inputError(`binary ${exePath} needs library ${name}${via}, which the root does not have`, 'install the package that ships it into the root, or drop the binary from the hook');
        }
        if (known.has(found.path)) {
          known.set(name, known.get(found.path)!);
          continue;
        }
        const mapped: Mapped = { path: found.path, name, neededBy: requester.path, elf: found.elf, origin: posix.dirname(found.path), loader: requester };
        loaded.push(mapped);
        remember(mapped, name);
      }
    }
    return loaded.map(({ path, name, neededBy }) => ({ path, name, neededBy }));
  }

  private async find(name: string, requester: Mapped, exe: ElfDynamic): Promise<{ path: string; elf: ElfDynamic } | undefined> {
    if (name.includes('/')) {
      const path = posix.normalize(this.expand(name, requester, exe.machine));
      const elf = await this.usable(path, exe);
      return elf && { path, elf };
    }
    for (const dir of await this.candidates(requester, exe.machine)) {
      const path = posix.join(dir, name);
      const elf = await this.usable(path, exe);
      if (elf) return { path, elf };
    }
    return undefined;
  }
}
