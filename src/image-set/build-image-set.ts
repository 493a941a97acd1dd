// `ramboot build`: the netboot image set in one directory — vmlinuz, initrd.img,
// rootfs.squashfs, cmdline.txt and SHA256SUMS. The rootfs is built first so its sha256 and size
// can be baked into the initrd: an initrd and its rootfs always match.
// A build is one transaction: every option is checked and every module resolved before the first
// byte is written (preflight), the outputs are staged beside the set and renamed into place
// together (staging.ts), so a failed or interrupted rebuild leaves the previous set as it was.
import { createHash } from 'node:crypto';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderDefaultCmdline } from '../cmdline/render-cmdline.js';
import { usageError } from '../errors.js';
import { findKernel } from '../kernel/find-kernel.js';
import { checkArm64Kernel, writeArm64Image } from '../kernel/arm64-image.js';
import type { Arch } from '../elf/machine.js';
import { resolveArch } from '../elf/root-arch.js';
import { planRootfs, writeRootfs, type RootfsOptions } from '../rootfs/build-rootfs.js';
import { appendVerityTree, checkVeritysetup, VERITY_HOOK } from '../rootfs/verity.js';
import { writeAtomically } from '../util/atomic-file.js';
import { NoSpaceError, noSpaceError } from '../util/disk-space.js';
import { checkOutputPath } from '../util/output-path.js';
import { sha256File } from '../util/sha256.js';
import { planInitrd, writeInitrd, type InitrdOptions, type InitrdResult } from '../initrd/build-initrd.js';
import { checkUkiOptions, checkUkiStub, writeUki, type UkiOptions } from '../uki/build-uki.js';
import { Staging } from './staging.js';

/** In the order they are renamed into place: SHA256SUMS last, so a set whose sums match is whole. */
export const IMAGE_SET_FILES = ['vmlinuz', 'initrd.img', 'rootfs.squashfs', 'cmdline.txt', 'SHA256SUMS'] as const;
/** With --uki, ramboot.efi goes in before SHA256SUMS (and is listed in it). */
export const UKI_FILE = 'ramboot.efi';
/** arm64 sets also carry the kernel as an uncompressed Image (src/kernel/arm64-image.ts says why). */
export const ARM64_IMAGE_FILE = 'Image';

type FileFacts = { size: number; sha256: string };

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
  /** Also write ramboot.efi, a unified kernel image of this set (src/uki/). */
  uki?: UkiOptions;
  onStep?: (step: string) => void;
}

export interface ImageSetResult {
  outDir: string;
  kver: string;
  cmdline: string;
  files: Record<(typeof IMAGE_SET_FILES)[number], FileFacts> & { [UKI_FILE]?: FileFacts; [ARM64_IMAGE_FILE]?: FileFacts };
  arch: Arch;
  initrd: InitrdResult;
  rootfsSeconds: number;
  /** Warnings of both builds, e.g. missing firmware or a root without an init. */
  warnings: string[];
}

/** Every form the boot script takes: mirrors, dev://, and paths relative to the DHCP boot server. */
export function checkRooturl(rooturl: string | undefined): void {
  if (rooturl !== undefined && !rooturl.split(',').every((u) => /^((https?|tftp|dev):\/\/\S+|[^\s:]+)$/.test(u))) {
    throw usageError(`--rooturl "${rooturl}" is not a list of http://, https://, tftp:// or dev:// URLs or relative paths`);
  }
}

export async function buildImageSet(opts: ImageSetOptions): Promise<ImageSetResult> {
  // preflight: options, output directory, kernel, rootfs settings, module closure, busybox.
  checkRooturl(opts.rooturl);
  await checkOutputPath(opts.outDir, 'dir', '--out');
  // A directory or a device at one of the names would make the final renames fail half-way.
  const names: string[] = opts.uki ? [...IMAGE_SET_FILES.slice(0, -1), UKI_FILE, 'SHA256SUMS'] : [...IMAGE_SET_FILES];
  for (const name of names) await checkOutputPath(join(opts.outDir, name), 'file', '--out');
  const cmdline = renderDefaultCmdline(opts.rooturl ? { rooturl: opts.rooturl } : {});
  if (opts.uki) await checkUkiOptions(opts.uki, cmdline);
  const step = opts.onStep ?? (() => {});
  const kernel = await findKernel(opts.root, { kver: opts.kver, kernel: opts.kernel });
  const arch = await resolveArch(opts.root, opts.initrd?.arch, kernel.modulesDir);
  const arm64 = arch === 'arm64';
  // The UKI's stub is the set's architecture's (src/uki/uki-stub.ts).
  const ukiStub = opts.uki ? await checkUkiStub(opts.uki, arch) : undefined;
  if (arm64) {
    await checkArm64Kernel(kernel.vmlinuz);
    await checkOutputPath(join(opts.outDir, ARM64_IMAGE_FILE), 'file', '--out');
    names.splice(IMAGE_SET_FILES.length - 1, 0, ARM64_IMAGE_FILE);
  }
  const rootfsPlan = await planRootfs({ ...opts.rootfs, root: opts.root, out: join(opts.outDir, 'rootfs.squashfs') });
  const initrdPlan = await planInitrd({ ...opts.initrd, arch, root: opts.root, kver: kernel.kver }, kernel);
  const kernelSize = (await stat(kernel.vmlinuz)).size;
  const verity = initrdPlan.hooks.some((h) => h.name === VERITY_HOOK);
  if (verity) await checkVeritysetup();

  const stage = await Staging.open(opts.outDir);
  try {
    step('rootfs.squashfs');
    const squashfs = await writeRootfs(rootfsPlan, stage.path('rootfs.squashfs'), '--out');
    // --hook verity: the hash tree goes onto the staged image, so its sha256 and size (what the
    // initrd, SHA256SUMS and the memory check see) are those of the file as served.
    const tree = verity ? await appendVerityTree(stage.path('rootfs.squashfs')) : undefined;
    const rootfs = tree ? { ...squashfs, sha256: tree.sha256, size: tree.size } : squashfs;

    step('initrd.img');
    const initrd = await writeInitrd(initrdPlan, {
      out: stage.path('initrd.img'),
      rootfsSha256: rootfs.sha256,
      rootfsSize: rootfs.size,
      ...(tree ? { verity: tree } : {}),
      ...(opts.embed ? { embedRootfs: stage.path('rootfs.squashfs') } : {}),
    });

    step('vmlinuz');
    await writeAtomically(
      stage.path('vmlinuz'),
      (tmp) => copyFile(kernel.vmlinuz, tmp).catch((error: unknown) => Promise.reject(Object.assign(error as Error, { neededBytes: kernelSize }))),
      { flag: '--out' },
    );
    if (arm64) {
      step(ARM64_IMAGE_FILE);
      await writeAtomically(stage.path(ARM64_IMAGE_FILE), (tmp) => writeArm64Image(kernel.vmlinuz, tmp), { flag: '--out' });
    }
    await writeAtomically(stage.path('cmdline.txt'), (tmp) => writeFile(tmp, `${cmdline}\n`), { flag: '--out' });
    if (opts.uki) {
      step(UKI_FILE);
      // UEFI runs an arm64 kernel only as the uncompressed Image (its EFI stub).
      const inputs = { root: opts.root, kver: kernel.kver, vmlinuz: arm64 ? stage.path(ARM64_IMAGE_FILE) : kernel.vmlinuz, initrd: stage.path('initrd.img'), cmdline };
      await writeAtomically(stage.path(UKI_FILE), (tmp) => writeUki(inputs, { ...opts.uki!, stub: ukiStub! }, tmp), { flag: '--out' });
    }

    const files = {} as Record<string, FileFacts>;
    for (const name of names) {
      if (name === 'SHA256SUMS') continue;
      const path = stage.path(name);
      files[name] = { size: (await stat(path)).size, sha256: name === 'rootfs.squashfs' ? rootfs.sha256 : name === 'initrd.img' ? initrd.sha256 : await sha256File(path) };
    }
    // sha256sum -c format, so `cd out && sha256sum -c SHA256SUMS` checks a copied set.
    const sums = names.filter((n) => n !== 'SHA256SUMS').map((n) => `${files[n]!.sha256}  ${n}\n`).join('');
    await writeAtomically(stage.path('SHA256SUMS'), (tmp) => writeFile(tmp, sums), { flag: '--out' });
    files.SHA256SUMS = { size: Buffer.byteLength(sums), sha256: createHash('sha256').update(sums).digest('hex') };

    // A rebuild without --uki drops the old ramboot.efi: it would boot the previous initrd; one
    // for amd64 drops an arm64 build's Image.
    stage.commit(names, [...(opts.uki ? [] : [UKI_FILE]), ...(arm64 ? [] : [ARM64_IMAGE_FILE])]);
    return {
      outDir: opts.outDir,
      kver: kernel.kver,
      arch,
      cmdline,
      files: files as ImageSetResult['files'],
      initrd: { ...initrd, path: join(opts.outDir, 'initrd.img') },
      rootfsSeconds: rootfs.seconds,
      warnings: [...rootfs.warnings, ...initrd.warnings],
    };
  } catch (error) {
    const staged = await stage.abort();
    // The set needed what was staged before the disk filled, plus the file that filled it.
    if (error instanceof NoSpaceError) throw await noSpaceError(opts.outDir, error.label, staged + error.needed, '--out');
    throw error;
  }
}
