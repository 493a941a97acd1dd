// The applets of a busybox that cannot run on this machine (another architecture), read from
// the binary instead of `busybox --list-full`. busybox's build generates two tables
// (applets/applet_tables.c, include/applet_tables.h) that land in .rodata as they are:
//   applet_names:       "[\0[[\0acpid\0...zcat\0" — every name, sorted, NUL-separated, ending
//                       in an empty name;
//   applet_install_loc: one nibble per applet in the same order, two per byte (even index in
//                       the low nibble): 0 /, 1 /bin, 2 /sbin, 3 /usr/bin, 4 /usr/sbin.
// The names are found by their fixed start ("[" then "[["); the location table is the one run
// of exactly ceil(n/2) bytes whose nibbles are all 0-4 with the fewest 0s (only an applet like
// linuxrc lives in /). Anything that does not hold together is an error, never a guess. Tested
// against `--list-full` of this machine's busybox (test/initrd/busybox-applets.test.ts).
import { inputError } from '../errors.js';

const DIRS = ['', 'bin/', 'sbin/', 'usr/bin/', 'usr/sbin/'];
const NAME = /^[a-z0-9_.[-]+$/;
/** Any real busybox has far more; fewer means the start pattern matched something else. */
const MIN_APPLETS = 10;

function appletNames(data: Buffer): { names: string[]; start: number } | undefined {
  const start = data.indexOf('\0[\0[[\0', 0, 'latin1');
  if (start < 0) return undefined;
  const end = data.indexOf('\0\0', start + 1, 'latin1');
  if (end < 0) return undefined;
  const names = data.toString('latin1', start + 1, end).split('\0');
  const sorted = names.every((n, i) => NAME.test(n) && (i === 0 || names[i - 1]! < n));
  return sorted && names.length >= MIN_APPLETS ? { names, start } : undefined;
}

/** Where each applet installs: the location table that fits `count` applets best. */
function installLocations(data: Buffer, count: number): number[] | undefined {
  const length = (count + 1) >> 1;
  const ok = (b: number) => (b & 15) <= 4 && b >> 4 <= 4;
  // zeroNibbles[i]: 0-nibbles in data[0..i), so a window's count is one subtraction.
  const zeroNibbles = new Int32Array(data.length + 1);
  for (let i = 0; i < data.length; i++) zeroNibbles[i + 1] = zeroNibbles[i]! + ((data[i]! & 15) === 0 ? 1 : 0) + (data[i]! >> 4 === 0 ? 1 : 0);
  let best: { at: number; zeros: number } | undefined;
  let tie = false;
  let run = 0;
  for (let i = 0; i < data.length; i++) {
    run = ok(data[i]!) ? run + 1 : 0;
    if (run < length) continue;
    const at = i - length + 1;
    // With an odd count the last byte's high nibble is padding, always 0 (and not counted).
    if (count % 2 === 1 && data[i]! >> 4 !== 0) continue;
    const zeros = zeroNibbles[i + 1]! - zeroNibbles[at]! - (count % 2);
    if (!best || zeros < best.zeros) {
      best = { at, zeros };
      tie = false;
    } else if (zeros === best.zeros) tie = true;
  }
  // A table of mostly "/" is no install table; two equally good ones cannot be told apart.
  if (!best || tie || best.zeros > count / 8) return undefined;
  return Array.from({ length: count }, (_, k) => (data[best.at + (k >> 1)]! >> ((k & 1) * 4)) & 15);
}

/** The applets as `busybox --list-full` prints them (`usr/bin/[`, `bin/sh`, `linuxrc`), read
 * from the binary's own tables; `what` names it in errors. */
export function readAppletTable(data: Buffer, what: string): string[] {
  const table = appletNames(data);
  if (!table) throw inputError(`cannot find the applet list in ${what}`, 'give --busybox a Debian busybox-static binary, or build on a machine of its architecture');
  const locations = installLocations(data, table.names.length);
  if (!locations) throw inputError(`cannot find where the applets of ${what} install`, 'give --busybox a Debian busybox-static binary, or build on a machine of its architecture');
  return table.names.map((name, i) => `${DIRS[locations[i]!]}${name}`);
}
