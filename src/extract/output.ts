// Text out to a stream as it is produced, in bounded memory: pieces are gathered up to 64 KiB,
// then written, and the producer waits for 'drain' when the stream is full (a slow terminal
// or a pipe into `less` slows the reader down instead of growing a buffer). A reader that goes
// away (`| head`: EPIPE) ends the output with one line instead of an unhandled 'error' event.
import type { Writable } from 'node:stream';
import { RambootError } from '../errors.js';

const BATCH = 64 * 1024;

export interface Output {
  /** Returns a promise only when the caller must wait (the stream is full). */
  write(text: string): void | Promise<void>;
  /** Writes what is gathered. */
  flush(): Promise<void>;
}

export function streamOutput(stream: Writable | NodeJS.WriteStream): Output {
  let pending = '';
  let failure: NodeJS.ErrnoException | undefined;
  let wake: (() => void) | undefined;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    failure = err;
    wake?.();
  });
  const check = () => {
    if (failure) throw new RambootError('io', `cannot write the output: ${failure.code ?? failure.message}`, 'its reader closed it early (e.g. | head); nothing is wrong with the image');
  };
  const send = async (text: string) => {
    check();
    if (text === '') return;
    if (!stream.write(text)) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        stream.once('drain', () => resolve());
      });
      wake = undefined;
      check();
    }
  };
  return {
    write(text) {
      pending += text;
      if (pending.length < BATCH) return undefined;
      const out = pending;
      pending = '';
      return send(out);
    },
    async flush() {
      const out = pending;
      pending = '';
      await send(out);
    },
  };
}

/** Gathers everything (tests, and callers that want the whole text). */
export function stringOutput(): Output & { text(): string } {
  const parts: string[] = [];
  return {
    write(text) {
      parts.push(text);
    },
    async flush() {},
    text: () => parts.join(''),
  };
}
