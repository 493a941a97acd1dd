// The subhost's PID 1 in services mode is a maintained reaper, Debian's tini: it reaps every
// orphan re-parented to it and forwards SIGTERM to the boot script (tini(1)). The static build
// is preferred: it keeps no library of the host open once the root is pivoted.
import { access, constants, realpath } from 'node:fs/promises';
import { readElfKind } from '../elf/interp.js';
import { toolError } from '../errors.js';

const CANDIDATES = ['/usr/bin/tini-static', '/usr/sbin/tini-static', '/usr/bin/tini', '/usr/sbin/tini', '/usr/local/bin/tini'];

export async function findReaper(): Promise<string> {
  for (const path of CANDIDATES) {
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
  }
  throw toolError('tini not found: the subhost needs a reaper as PID 1', 'apt-get install tini, or run the image\'s own init with --init');
}

/** This host's busybox, real path, which must be static: it runs after pivot_root, where the
 * host's dynamic loader and libraries are no longer reachable (boot-script.ts). */
export async function findStaticBusybox(): Promise<string> {
  const hint = 'apt-get install busybox-static';
  const path = await realpath('/bin/busybox').catch(() => {
    throw toolError('busybox not found at /bin/busybox', hint);
  });
  const kind = await readElfKind(path);
  if (!kind.elf || kind.interpreter) throw toolError(`${path} is not a statically linked busybox`, hint);
  return path;
}
