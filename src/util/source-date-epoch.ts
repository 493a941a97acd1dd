import { usageError } from '../errors.js';

/** The build timestamp: SOURCE_DATE_EPOCH when set (reproducible-builds.org), else 0 — every
 * archive timestamp is fixed either way, so the same inputs give the same bytes. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw) || Number(raw) > 0xffffffff) {
    throw usageError(`SOURCE_DATE_EPOCH="${raw}" is not a Unix time`, 'set it to whole seconds since 1970, e.g. $(git log -1 --format=%ct)');
  }
  return Number(raw);
}
