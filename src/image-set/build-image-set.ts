// `ramboot build`: the netboot image set in one directory — vmlinuz, initrd.img,
// rootfs.squashfs, cmdline.txt and SHA256SUMS. The rootfs is built first so its sha256 and size
// can be baked into the initrd: an initrd and its rootfs always match.
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderDefaultCmdline } from '../cmdline/render.js';
import { usageError } from '../errors.js';
import { findKernel } from '../kernel/find-kernel.js';
import { buildRootfs, type RootfsOptions } from '../rootfs/build-rootfs.js';
import { writeAtomically } from '../util/atomic-file.js';
import { sha256File } from '../util/sha256.js';
import { buildInitrd, type InitrdOptions, type InitrdResult } from '../initrd/build-initrd.js';

export const IMAGE_SET_FILES = ['vmlinuz', 'initrd.img', 'rootfs.squashfs', 'cmdline.txt', 'SHA256SUMS'] as const;

export interface ImageSetOptions {
  root: string;
  outDir: string;
  kver?: string;
  /** A kernel image to ship instead of the root's /boot/vmlinuz-KVER. */
  kernel?: string;
  rooturl?: string;
  /** Also carry rootfs.squashfs inside initrd.img (used when the command line has no rooturl=). */
  embed?: boolean;
  initrd?: Omit<InitrdOptions, 'root' | 'out' | 'kver' | 'rootfsSha256' | 'rootfsSize' | 'embedRootfs'>;
  rootfs?: Omit<RootfsOptions, 'root' | 'out'>;
  onStep?: (step: string) => void;
}

export interface ImageSetResult {
  outDir: string;
  kver: string;
  cmdline: string;
  files: Record<(typeof IMAGE_SET_FILES)[number], { size: number; sha256: string }>;
  initrd: InitrdResult;
  rootfsSeconds: number;
  /** Warnings of both builds, e.g. missing firmware or a root without an init. */
  warnings: string[];
}

export async function buildImageSet(opts: ImageSetOptions): Promise<ImageSetResult> {
  // Every form the boot script takes: mirrors, dev://, and paths relative to the DHCP boot server.
  if (opts.rooturl !== undefined && !opts.rooturl.split(',').every((u) => /^((https?|tftp|dev):\/\/\S+|[^\s:]+)$/.test(u))) {
    throw usageError(`--rooturl "${opts.rooturl}" is not a list of http://, https://, tftp:// or dev:// URLs or relative paths`);
  }
  const step = opts.onStep ?? (() => {});
  const kernel = await findKernel(opts.root, { kver: opts.kver, kernel: opts.kernel });
  await mkdir(opts.outDir, { recursive: true });

  step('rootfs.squashfs');
  const rootfs = await buildRootfs({ ...opts.rootfs, root: opts.root, out: join(opts.outDir, 'rootfs.squashfs') });

  step('initrd.img');
  const initrd = await buildInitrd({
    ...opts.initrd,
    root: opts.root,
    out: join(opts.outDir, 'initrd.img'),
    kver: kernel.kver,
    rootfsSha256: rootfs.sha256,
    rootfsSize: rootfs.size,
    ...(opts.embed ? { embedRootfs: join(opts.outDir, 'rootfs.squashfs') } : {}),
  });

  step('vmlinuz');
  await writeAtomically(join(opts.outDir, 'vmlinuz'), (tmp) => copyFile(kernel.vmlinuz, tmp));

  const cmdline = renderDefaultCmdline(opts.rooturl ? { rooturl: opts.rooturl } : {});
  await writeAtomically(join(opts.outDir, 'cmdline.txt'), (tmp) => writeFile(tmp, `${cmdline}\n`));

  const files = {} as ImageSetResult['files'];
  for (const name of IMAGE_SET_FILES) {
    if (name === 'SHA256SUMS') continue;
    const path = join(opts.outDir, name);
    files[name] = { size: (await stat(path)).size, sha256: name === 'rootfs.squashfs' ? rootfs.sha256 : await sha256File(path) };
  }
  // sha256sum -c format, so `cd out && sha256sum -c SHA256SUMS` checks a copied set.
  const sums = IMAGE_SET_FILES.filter((n) => n !== 'SHA256SUMS').map((n) => `${files[n].sha256}  ${n}\n`).join('');
  await writeAtomically(join(opts.outDir, 'SHA256SUMS'), (tmp) => writeFile(tmp, sums));
  files.SHA256SUMS = { size: Buffer.byteLength(sums), sha256: await sha256File(join(opts.outDir, 'SHA256SUMS')) };
  return { outDir: opts.outDir, kver: kernel.kver, cmdline, files, initrd, rootfsSeconds: rootfs.seconds, warnings: [...rootfs.warnings, ...initrd.warnings] };
}
