// The config of one `ramboot run`: a config file (overlay-boot's format), flags setting the same
// variables on top of it, or flags alone (then BASE/LIVE/WORK are made for the run: one-off.ts).
import { readFile } from 'node:fs/promises';
import { usageError } from '../errors.js';
import { defaultNameOf, parseConfigText, resolveConfig, type RawConfig, type SubhostConfig } from './config.js';
import { prepareOneOff } from './one-off.js';
import { checkNameFree } from './preflight.js';

export interface RunConfig {
  config: SubhostConfig;
  /** Removes what a flags-only run made for itself; call it once the run is over (or failed). */
  cleanup: () => Promise<void>;
}

export async function readRunConfig(conf: string | undefined, flags: RawConfig, warn: (line: string) => void): Promise<RunConfig> {
  let raw: RawConfig = {};
  let source = 'flags';
  let defaultName = 'subhost';
  if (conf) {
    const text = await readFile(conf, 'utf8').catch(() => {
      throw usageError(`config file ${conf} cannot be read`, 'give the path of an overlay-boot config file');
    });
    const parsed = parseConfigText(text, conf);
    for (const key of parsed.unknown) warn(`${conf}: ${key}= is not an overlay-boot variable, ignored`);
    raw = parsed.raw;
    source = conf;
    defaultName = defaultNameOf(conf);
  } else if (!flags.LOWER || !flags.UPPER) {
    throw usageError('ramboot run needs a config file, or --lower and --upper', 'ramboot run CONF, or ramboot run --lower rootfs.squashfs --upper DIR');
  }
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) raw[k as keyof RawConfig] = v;
  if (conf) return { config: resolveConfig(raw, source, defaultName), cleanup: async () => undefined };
  // Flags alone: every flag error, and NAME in use, before anything is made.
  resolveConfig({ ...raw, BASE: raw.BASE ?? '/' }, source, defaultName);
  await checkNameFree(raw.NAME || defaultName);
  const prepared = await prepareOneOff(raw, raw.NAME || defaultName);
  try {
    return { config: resolveConfig(prepared.raw, source, defaultName), cleanup: prepared.cleanup };
  } catch (error) {
    await prepared.cleanup();
    throw error;
  }
}
