// Everything about a subhost's configuration that can be checked before anything is made:
// BASE, LIVE and WORK exist, LOWER is a directory or a squashfs image (with its pinned sha256),
// UPPER is a directory or an executable, WORK shares UPPER's filesystem (overlayfs requires it:
// Documentation/filesystems/overlayfs.rst, "workdir ... on the same filesystem as upperdir"),
// every bridge exists, and NAME is not in use. Each failure is one line naming the variable.
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { inputError, usageError } from '../errors.js';
import { sha256File } from '../util/sha256.js';
import { runTool } from '../util/run-tool.js';
import type { SubhostConfig } from './config.js';
import { linkExists, netnsPath } from './cables.js';
import { readState } from './state.js';

export type LowerKind = 'dir' | 'squashfs';

const SQUASHFS_MAGIC = Buffer.from('hsqs');

async function statOf(path: string) {
  return stat(path).catch(() => undefined);
}

async function requireDir(field: string, path: string, cfg: SubhostConfig, hint: string): Promise<void> {
  const st = await statOf(path);
  if (!st) throw usageError(`${field} ${path} does not exist (${cfg.source})`, hint);
  if (!st.isDirectory()) throw usageError(`${field} ${path} is not a directory (${cfg.source})`, hint);
}

/** LOWER: a directory, or a regular file starting with the squashfs magic; a pin is checked. */
export async function checkLower(cfg: SubhostConfig): Promise<LowerKind> {
  const st = await statOf(cfg.lower);
  if (!st) throw usageError(`LOWER ${cfg.lower} does not exist (${cfg.source})`, 'point LOWER at a root directory or a rootfs.squashfs');
  if (st.isDirectory()) {
    if (cfg.lowerSha256) throw usageError(`LOWER ${cfg.lower} is a directory but has a #sha256= pin`, 'pins are for image files: drop #sha256=');
    return 'dir';
  }
  if (!st.isFile()) throw usageError(`LOWER ${cfg.lower} is neither a directory nor a regular file`, 'point LOWER at a root directory or a rootfs.squashfs');
  const fh = await open(cfg.lower, 'r');
  const head = Buffer.alloc(4);
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (!head.equals(SQUASHFS_MAGIC)) throw inputError(`LOWER ${cfg.lower} is not a squashfs image (no hsqs magic)`, 'build one with ramboot rootfs, or point LOWER at a directory');
  if (cfg.lowerSha256) {
    const got = await sha256File(cfg.lower);
    if (got !== cfg.lowerSha256) throw inputError(`LOWER ${cfg.lower} has sha256 ${got}, the pin says ${cfg.lowerSha256}`, 'use the image the pin was made for, or update the #sha256= pin');
  }
  return 'squashfs';
}

/** UPPER: 'dir' or 'script' (an executable regular file run with ACTION=setup/teardown). */
export async function checkUpperKind(cfg: SubhostConfig): Promise<'dir' | 'script'> {
  const st = await statOf(cfg.upper);
  const hint = 'mkdir -p the UPPER directory, or point UPPER at an executable that prints one';
  if (!st) throw usageError(`UPPER ${cfg.upper} does not exist (${cfg.source})`, hint);
  if (st.isDirectory()) return 'dir';
  const executable = await access(cfg.upper, constants.X_OK).then(() => true, () => false);
  if (st.isFile() && executable) return 'script';
  throw usageError(`UPPER ${cfg.upper} is neither a directory nor an executable file (${cfg.source})`, hint);
}

/** WORK must be an existing directory on UPPER's filesystem, and not inside it. */
export async function checkWork(cfg: SubhostConfig, upperDir: string): Promise<void> {
  await requireDir('WORK', cfg.work, cfg, `mkdir -p ${cfg.work} on the same filesystem as UPPER`);
  const [w, u] = await Promise.all([stat(cfg.work), stat(upperDir)]);
  if (w.dev !== u.dev) throw usageError(`WORK ${cfg.work} is on another filesystem than UPPER ${upperDir}`, 'put WORK next to UPPER on one filesystem (overlayfs needs that)');
  if (`${cfg.work}/`.startsWith(`${upperDir}/`) || `${upperDir}/`.startsWith(`${cfg.work}/`)) {
    throw usageError(`WORK ${cfg.work} and UPPER ${upperDir} are nested`, 'use two sibling directories, e.g. BASE/root and BASE/work');
  }
}

/** A bridge in the current network namespace (netlink, not /sys, which shows the mounter's). */
async function isBridge(name: string): Promise<boolean> {
  try {
    const { stdout } = await runTool('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
    const links = JSON.parse(stdout) as { linkinfo?: { info_kind?: string } }[];
    return links[0]?.linkinfo?.info_kind === 'bridge';
  } catch {
    return false;
  }
}

/** The checks that need no side effect, in the order a user would fix them. */
export async function preflight(cfg: SubhostConfig): Promise<{ lower: LowerKind; upper: 'dir' | 'script' }> {
  await requireDir('BASE', cfg.base, cfg, `mkdir -p ${cfg.base}, or fix BASE=`);
  await requireDir('LIVE', cfg.live, cfg, `mkdir -p ${cfg.live}: the overlay is mounted there`);
  const lower = await checkLower(cfg);
  const upper = await checkUpperKind(cfg);
  if (upper === 'dir') await checkWork(cfg, cfg.upper);
  for (const [i, c] of cfg.cables.entries()) {
    if (c.bridge && !(await isBridge(c.bridge))) {
      throw usageError(`CABLES bridge ${c.bridge} (cable ${i}) does not exist or is not a bridge`, `create it (ip link add ${c.bridge} type bridge) or fix CABLES=`);
    }
  }
  await checkNameFree(cfg.name);
  return { lower, upper };
}

/** NAME in use: a running subhost, a network namespace or a host end with its name. */
export async function checkNameFree(name: string): Promise<void> {
  const hint = `stop it (ramboot stop ${name}) or choose another NAME`;
  if (await readState(name)) throw usageError(`NAME ${name} is in use by a running subhost`, hint);
  if (await statOf(netnsPath(name))) throw usageError(`NAME ${name} is in use: network namespace ${name} exists`, `${hint}; ip netns del ${name} if it is left over`);
  if (await linkExists(`${name}0`)) throw usageError(`NAME ${name} is in use: interface ${name}0 exists`, hint);
}
