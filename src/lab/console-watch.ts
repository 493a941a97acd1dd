// A guest's serial console as it grows, with waiters for patterns taken in order: each match
// consumes the console up to its end, so `waitFor(/login:/)` twice waits for two prompts. Used
// by the QEMU runner (qemu.ts) and the PXE lab's guests (pxe-lab/guest.ts).
import { RambootError } from '../errors.js';

interface Waiter {
  re: RegExp;
  resolve: (text: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** A regex without g/y flags: test() and exec() then keep no lastIndex state between calls. */
export function stateless(re: RegExp): RegExp {
  return new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
}

/** The last `n` lines of console text, for error messages. */
export function lastLines(text: string, n = 15): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

export class ConsoleWatch {
  private text = '';
  private cursor = 0;
  private closedError: ((re: RegExp) => Error) | undefined;
  private readonly waiters: Waiter[] = [];

  /** `prefix` starts every message (e.g. the guest's name and a colon). */
  constructor(private readonly prefix = '') {}

  get output(): string {
    return this.text;
  }

  append(text: string): void {
    this.text += text;
    this.serve();
  }

  /** The next text matching `re` after what earlier waits consumed. After close(), only what
   * was already printed can match. */
  waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const waiter: Waiter = {
        re: stateless(re),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new RambootError('boot', `${this.prefix}no ${re} on the console within ${Math.round(timeoutMs / 1000)} s; last lines:\n${lastLines(this.text)}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
      this.serve();
      if (this.closedError && this.waiters.includes(waiter)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        reject(this.closedError(re));
      }
    });
  }

  /** The guest is gone: every pending wait, and every later one that finds nothing, fails with
   * `errorFor(pattern)`. */
  close(errorFor: (re: RegExp) => Error): void {
    this.closedError = errorFor;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(errorFor(waiter.re));
    }
  }

  private serve(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      const match = head.re.exec(this.text.slice(this.cursor));
      if (!match) return;
      this.cursor += match.index + match[0].length;
      this.waiters.shift();
      clearTimeout(head.timer);
      head.resolve(match[0]);
    }
  }
}
