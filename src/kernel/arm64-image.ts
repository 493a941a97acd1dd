// The arm64 kernel as boot loaders take it. An arm64 kernel is an `Image` (Documentation/arch/
// arm64/booting.rst: the magic "ARM\x64" at offset 0x38), which distributions ship either as is
// (Debian 12's 6.1 vmlinuz is a plain 27 MB Image, measured) or gzip-compressed (e.g. Ubuntu's
// vmlinuz). Nothing on an arm64 machine decompresses a kernel by itself: the kernel has no
// self-decompressor there, iPXE loads a gzip one only when built with IMAGE_GZIP, and UEFI runs
// only the uncompressed Image (its EFI stub); QEMU's -kernel takes either. So an arm64 set
// always carries `Image`, uncompressed, next to vmlinuz, and boot configs can name it whatever
// the kernel package did. An EFI zboot vmlinuz ("zimg" at offset 4) boots only through UEFI's
// own loader and is refused with a hint.
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { inputError } from '../errors.js';

const MAGIC_OFFSET = 0x38;
const ARM64_MAGIC = 0x644d5241; // "ARM\x64", little-endian
const HEAD = 64;

export type Arm64KernelFormat = 'image' | 'gzip';

export const isArm64Image = (head: Buffer): boolean => head.length >= HEAD && head.readUInt32LE(MAGIC_OFFSET) === ARM64_MAGIC;

/** The first 64 bytes of the (possibly gzip-compressed) kernel, decompressed. */
async function imageHead(path: string): Promise<{ head: Buffer; format: Arm64KernelFormat | 'zboot' | undefined }> {
  const handle = await open(path, 'r');
  const raw = Buffer.alloc(HEAD);
  const { bytesRead } = await handle.read(raw, 0, HEAD, 0).finally(() => handle.close());
  if (bytesRead >= 8 && raw.toString('latin1', 4, 8) === 'zimg') return { head: raw, format: 'zboot' };
  if (raw[0] !== 0x1f || raw[1] !== 0x8b) return { head: raw.subarray(0, bytesRead), format: 'image' };
  // Inflate only as far as the header: a gzip Image is ~30 MB.
  const chunks: Buffer[] = [];
  let have = 0;
  const gunzip = createGunzip();
  const source = createReadStream(path);
  await new Promise<void>((resolve) => {
    const stop = () => {
      source.destroy();
      gunzip.destroy();
      resolve();
    };
    gunzip.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= HEAD) stop();
    });
    gunzip.on('end', stop);
    gunzip.on('error', stop);
    source.on('error', stop);
    source.pipe(gunzip);
  });
  return { head: Buffer.concat(chunks).subarray(0, HEAD), format: 'gzip' };
}

/** How the arm64 kernel at `path` is packed; a one-line error when it is no arm64 kernel. */
export async function checkArm64Kernel(path: string): Promise<Arm64KernelFormat> {
  const { head, format } = await imageHead(path);
  if (format === 'zboot') {
    throw inputError(`kernel ${path} is an EFI zboot image, which only UEFI firmware can unpack`, 'give --kernel the plain arm64 Image (e.g. from the kernel build tree: arch/arm64/boot/Image)');
  }
  if (!format || !isArm64Image(head)) {
    throw inputError(`kernel ${path} is not an arm64 kernel Image (plain or gzip)`, 'give the root\'s arm64 kernel, or --kernel FILE with one (an amd64 root builds with --arch amd64)');
  }
  return format;
}

/** Write the uncompressed Image of the arm64 kernel at `vmlinuz` to `out`. */
export async function writeArm64Image(vmlinuz: string, out: string): Promise<void> {
  if ((await checkArm64Kernel(vmlinuz)) === 'image') return copyFile(vmlinuz, out);
  await pipeline(createReadStream(vmlinuz), createGunzip(), createWriteStream(out));
}
