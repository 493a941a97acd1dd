// Flag parsing shared by build, initrd and rootfs, so the same option means the same thing.
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { COMPRESSIONS, parseCompression, type Compression } from '../compress/codecs.js';

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

/** Progress goes to a terminal only; in pipes and CI the tools stay quiet. */
export function progressWanted(): boolean {
  return process.stderr.isTTY === true;
}

export function progressLine(text: string): void {
  if (progressWanted()) process.stderr.write(`ramboot: ${text}\n`);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
