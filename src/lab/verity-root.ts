// Test and benchmark roots for the verity hook: the demo root plus the build host's dmsetup with
// its libraries (copied file by file, as a root built with the dmsetup package has them: no
// debootstrap), and a probe file of known, incompressible bytes whose place in the squashfs can
// be found again, so a test can flip one byte of its data in the built image.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyHostBinaries } from './host-binaries.js';

/** Where the probe file goes in the root. */
export const PROBE_PATH = 'verity-probe';

/** The init the verity boots use: where / comes from, the boot's report, then the probe read
 * whole (its sha256, or the error the read gave), then power off. */
export const VERITY_INIT = `#!/bin/sh
read -r up _ < /proc/uptime
echo "RAMBOOT-INIT pid=$$ uptime=$up"
while read -r dev mnt type _; do
  [ "$type" = squashfs ] && echo "RAMBOOT-SQUASHFS mnt=$mnt dev=$dev"
done < /proc/mounts
echo "VERITY-REPORT $(cat /run/ramboot/report.json)"
if sum=$(sha256sum /${PROBE_PATH} 2>/tmp/probe.err); then echo "VERITY-READ ok \${sum%% *}"; else echo "VERITY-READ error $(cat /tmp/probe.err)"; fi
echo "RAMBOOT-DONE"
poweroff -f
`;

/** The build host's `binary` (e.g. /sbin/dmsetup) with every library it loads, into `root`. */
export async function addHostBinary(root: string, binary: string): Promise<void> {
  await copyHostBinaries(root, [binary]);
}

/** `size` bytes no compressor can shrink (a sha256 counter stream): squashfs stores its full
 * blocks as they are, so any 64 bytes of it are found verbatim in the image. */
export function probeBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i * 32 < size; i++) createHash('sha256').update(`ramboot verity probe ${i}`).digest().copy(out, i * 32);
  return out;
}

/** Write the probe into `root`; returns its bytes. */
export function addProbe(root: string, size: number): Buffer {
  const bytes = probeBytes(size);
  writeFileSync(join(root, PROBE_PATH), bytes);
  return bytes;
}

/** Flip one byte of the probe's data `at` bytes into the probe, in the image file: returns the
 * image offset. Throws when the probe's bytes are not stored verbatim there (compressed). */
export function flipProbeByte(image: string, probe: Buffer, at: number): number {
  const data = readFileSync(image);
  const needle = probe.subarray(at, at + 64);
  const found = data.indexOf(needle);
  if (found < 0 || data.indexOf(needle, found + 1) >= 0) throw new Error(`probe bytes at ${at} are not stored once, verbatim, in ${image}`);
  data[found] = data[found]! ^ 0xff;
  writeFileSync(image, data);
  return found;
}
