// The few error classes ramboot raises. Each has a stable code, an exit code and a hint that
// names the fix, so the CLI can print one line a user can act on (see src/cli/main.ts).

export type ErrorCode =
  | 'usage' // bad flags or parameters
  | 'input' // a root tree, kernel or archive that is missing, corrupt or ambiguous
  | 'tool' // an external program is missing or failed
  | 'io' // the filesystem refused something
  | 'boot'; // a QEMU boot did not reach its goal

const EXIT_CODES: Record<ErrorCode, number> = { usage: 2, input: 3, tool: 4, io: 5, boot: 6 };

export class RambootError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RambootError';
    this.code = code;
    this.hint = hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }

  /** The one line the CLI prints: `message (hint: fix)`. */
  toLine(): string {
    return this.hint ? `${this.message} (hint: ${this.hint})` : this.message;
  }
}

export const usageError = (message: string, hint?: string) => new RambootError('usage', message, hint);
export const inputError = (message: string, hint?: string) => new RambootError('input', message, hint);
export const toolError = (message: string, hint?: string) => new RambootError('tool', message, hint);
