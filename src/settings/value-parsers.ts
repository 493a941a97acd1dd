// How a flag's text becomes a value. They throw commander's InvalidArgumentError, which commander
// prints as "option '--x <n>' argument 'y' is invalid. <our text>" and exits 2.
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { COMPRESSIONS, parseCompression, type Compression } from '../compress/codecs.js';

/** a,b,c — repeatable: each use adds to the list. */
export function parseList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('not a whole number.');
  return Number(value);
}

/** 128K, 1M, 131072 -> bytes. */
export function parseByteSize(value: string): number {
  const match = /^(\d+)([KMG]?)$/i.exec(value);
  if (!match) throw new InvalidArgumentError('use bytes or a K/M/G suffix, e.g. 1M.');
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(match[1]) * unit;
}

export function parseCompressionOption(value: string): Compression {
  try {
    return parseCompression(value);
  } catch {
    throw new InvalidArgumentError(`use one of ${COMPRESSIONS.join(', ')}.`);
  }
}
