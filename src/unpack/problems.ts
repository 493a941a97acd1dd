// Stable codes for what extraction can meet. Errors (E-*) always stop; warnings (W-*) are
// oddities a real initrd may have, reported with a code and turned into errors by --strict.
// Codes are part of the CLI's contract: tests and scripts match
// on them, so never rename one.
import { RambootError, type ErrorCode } from '../errors.js';

export const ERROR_CODES = {
  'E-PATH-TRAVERSAL': "a '..' component in an entry's path",
  'E-PATH-SYMLINK': 'an entry whose parent directory is a symlink (writing through it could leave the target)',
  'E-PATH-INVALID': "an entry that names the target itself ('.', '/') but is not a directory",
  'E-TARGET-NOT-EMPTY': 'the target directory exists and is not empty',
  'E-NOT-IMAGE': 'the file is neither an initrd (cpio segments) nor a squashfs image',
  'E-UNSUPPORTED': 'a compression ramboot cannot decompress (lzo)',
  'E-TRUNCATED': 'the archive or a compressed segment ends early',
  'E-CORRUPT': 'malformed cpio or compressed data',
  'E-MAX-SIZE': 'the decompressed data exceeds --max-size',
} as const;
export type ErrorId = keyof typeof ERROR_CODES;

export const WARNING_CODES = {
  'W-ABSOLUTE-PATH': "a leading '/' was stripped (the kernel unpacks '/etc/x' as 'etc/x' too); reported once",
  'W-DUPLICATE': 'a path that appears twice: the later entry wins, as in the kernel, but a non-empty directory is kept',
  'W-PARENT-NOT-DIR': 'an entry below a path that is a file or device: skipped, as the kernel fails to create it',
  'W-DEVICE-SKIPPED': 'a device node, created only as root with --devices',
  'W-SOCKET-SKIPPED': 'a socket, which cannot be created from an archive',
  'W-SETUID-DROPPED': 'setuid/setgid bits, kept only as root with --keep-setuid',
  'W-TRAILING-DATA': 'bytes after the last segment, or after the cpio inside a compressed segment, that are not an archive',
} as const;
export type WarningCode = keyof typeof WARNING_CODES;

/** An extraction error with a stable id; the id leads the message so the CLI's one line shows it. */
export class ExtractError extends RambootError {
  readonly id: ErrorId | WarningCode;

  constructor(id: ErrorId | WarningCode, message: string, hint?: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? 'input', `${id}: ${message}`, hint, options);
    this.id = id;
  }
}

export interface ExtractWarning {
  code: WarningCode;
  message: string;
}

/** Collects warnings, or throws the first one under --strict. */
export class Warnings {
  readonly list: ExtractWarning[] = [];

  constructor(
    private readonly strict = false,
    private readonly onWarning?: (warning: ExtractWarning) => void,
  ) {}

  warn(code: WarningCode, message: string): void {
    if (this.strict) throw new ExtractError(code, message, 'this is a warning without --strict');
    const warning = { code, message };
    this.list.push(warning);
    this.onWarning?.(warning);
  }
}

/** `code: message`, as the CLI prints a warning. */
export function renderWarning(warning: ExtractWarning): string {
  return `${warning.code}: ${warning.message}`;
}
