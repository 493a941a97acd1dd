// Every external program (mksquashfs, zstd, apt-get, qemu ...) runs through here, so a missing
// tool or a failure always reads the same way: which command, why, and the tail of its stderr.
import { execFile } from 'node:child_process';
import { execa, type Options as ExecaOptions } from 'execa';
import { RambootError } from '../errors.js';

/** Debian package that provides each tool we call, for the "not found" hint. */
const PACKAGE_OF: Record<string, string> = {
  mksquashfs: 'squashfs-tools',
  unsquashfs: 'squashfs-tools',
  zstd: 'zstd',
  xz: 'xz-utils',
  lz4: 'lz4',
  busybox: 'busybox-static',
  cpio: 'cpio',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-system-aarch64': 'qemu-system-arm',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  depmod: 'kmod',
  modprobe: 'kmod',
  veritysetup: 'cryptsetup-bin',
};

export function installHint(tool: string): string {
  const pkg = PACKAGE_OF[tool];
  return pkg ? `apt-get install ${pkg}` : `install ${tool} and put it on PATH`;
}

function stderrTail(text: string | undefined, lines = 5): string {
  if (!text) return '';
  return text.trim().split('\n').slice(-lines).join(' | ');
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** Run a tool to completion, capturing its output as text. */
export async function runTool(
  tool: string,
  args: readonly string[],
  options: Omit<ExecaOptions, 'encoding' | 'reject'> = {},
): Promise<ToolResult> {
  let result;
  try {
    result = await execa(tool, args, { ...options, reject: false, stripFinalNewline: false });
  } catch (error) {
    throw toolFailure(tool, args, error);
  }
  if (result.failed) throw toolFailure(tool, args, result);
  return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** runTool for a short call on a hot path (an initrd build's `busybox --list-full`): node's
 * execFile, without execa's per-call setup (5-8 ms of CPU against 3). Same errors as runTool. */
export function runToolDirect(tool: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr });
      const code = (error as { code?: unknown }).code;
      const failure = code === 'ENOENT' || code === 'EACCES' ? error : { exitCode: typeof code === 'number' ? code : undefined, signal: error.signal ?? undefined, stderr };
      reject(toolFailure(tool, args, failure));
    });
  });
}

/** Turn an execa failure (or a spawn error) into one RambootError line. */
export function toolFailure(tool: string, args: readonly string[], failure: unknown): RambootError {
  const f = failure as { code?: string; exitCode?: number; signal?: string; stderr?: unknown; shortMessage?: string };
  const command = [tool, ...args].join(' ');
  if (f.code === 'ENOENT') {
    return new RambootError('tool', `${tool} not found`, installHint(tool), { cause: failure });
  }
  const how = f.signal ? `was killed by ${f.signal}` : `exited with ${f.exitCode ?? 'an error'}`;
  const tail = stderrTail(typeof f.stderr === 'string' ? f.stderr : undefined);
  const brief = command.length > 160 ? `${command.slice(0, 157)}...` : command;
  return new RambootError('tool', `${brief} ${how}${tail ? `: ${tail}` : ''}`, undefined, { cause: failure });
}
