// The static busybox for a set of another architecture than this machine's (ramboot build
// --arch arm64 on an amd64 host): Debian's busybox-static for that architecture, fetched and
// checked through apt (src/util/apt-package.ts), cached under
// /var/cache/ramboot/busybox-static/<arch>/<sha256 of the .deb>/.
import type { Arch } from '../elf/machine.js';
import { aptPackageFile, type AptFile } from '../util/apt-package.js';

export const aptBusyboxCacheDir = () => process.env.RAMBOOT_BUSYBOX_STATIC_CACHE ?? '/var/cache/ramboot/busybox-static';

/** Debian's busybox-static for `arch`, from the cache or through apt. */
export function aptBusybox(arch: Arch): Promise<AptFile> {
  return aptPackageFile({
    name: 'busybox-static',
    arch,
    // bookworm installs it as /bin/busybox, trixie (merged /usr) as /usr/bin/busybox.
    pathsInDeb: ['bin/busybox', 'usr/bin/busybox'],
    fileName: 'busybox',
    cacheDir: aptBusyboxCacheDir(),
    purpose: `to put in an ${arch} initrd`,
    fixHint: `dpkg --add-architecture ${arch} && apt-get update, or give --busybox FILE (a static ${arch} busybox)`,
  });
}
