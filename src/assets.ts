// Project files that ship with ramboot: the boot scripts (initrd-scripts/), the hooks (hooks/)
// and the exclude lists (rootfs-excludes/). Run from the source tree they are read from disk;
// in the single-file build (scripts/bundle.mjs) they are embedded as a JSON map injected through
// esbuild's `define`, so dist/ramboot needs nothing beside itself.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __RAMBOOT_ASSETS__: Record<string, { mode: number; base64: string }> | undefined;

export const ASSET_DIRS = ['initrd-scripts', 'hooks', 'rootfs-excludes'] as const;

export interface Asset {
  /** Path relative to the project root, with `/` separators. */
  path: string;
  mode: number;
  data: Buffer;
}

function embedded(): Record<string, { mode: number; base64: string }> | undefined {
  return typeof __RAMBOOT_ASSETS__ === 'undefined' ? undefined : __RAMBOOT_ASSETS__;
}

/** The project root when running from source (src/assets.ts -> ..). */
export function projectRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

function walk(dir: string, root: string, out: Asset[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) walk(full, root, out);
    else if (st.isFile()) out.push({ path: relative(root, full).split(sep).join('/'), mode: st.mode & 0o7777, data: readFileSync(full) });
  }
}

/** Every asset under one of ASSET_DIRS (e.g. 'initrd-scripts'), sorted by path. */
export function listAssets(dir: (typeof ASSET_DIRS)[number]): Asset[] {
  const map = embedded();
  if (map) {
    return Object.keys(map)
      .filter((p) => p.startsWith(`${dir}/`))
      .sort()
      .map((p) => ({ path: p, mode: map[p]!.mode, data: Buffer.from(map[p]!.base64, 'base64') }));
  }
  const root = projectRoot();
  const out: Asset[] = [];
  walk(join(root, dir), root, out);
  return out;
}
