// `ramboot run --lower IMG --upper DIR` with no config file and no BASE: the directories
// overlay-boot keeps under BASE are made for this one run and removed after it. LIVE (the
// overlay's mount point, only ever mounted inside the subhost's mount namespace) goes in the
// run directory; WORK must share UPPER's filesystem, so it is made next to UPPER as
// `.NAME.ramboot-work` (overlayfs leaves only an empty work/ in it after unmount).
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RawConfig } from './config.js';
import { STATE_DIR } from './state.js';

export interface OneOffDirs {
  raw: RawConfig;
  /** Remove what was made for the run. */
  cleanup: () => Promise<void>;
}

/** Fill BASE/LIVE/WORK for a flags-only run; what the flags set is kept as given. */
export async function prepareOneOff(raw: RawConfig, name: string): Promise<OneOffDirs> {
  const made: string[] = [];
  const out: RawConfig = { ...raw };
  if (!out.BASE) {
    const base = join(STATE_DIR, `${name}.base`);
    await mkdir(join(base, 'live'), { recursive: true });
    made.push(base);
    out.BASE = base;
    out.LIVE ??= join(base, 'live');
  }
  if (!out.WORK && out.UPPER) {
    const upper = resolve(out.UPPER);
    const isDir = await stat(upper).then((s) => s.isDirectory(), () => false);
    if (isDir) {
      const work = join(dirname(upper), `.${basename(upper)}.${name}.ramboot-work`);
      if (!(await stat(work).then(() => true, () => false))) {
        await mkdir(work);
        made.push(work);
      }
      out.WORK = work;
    }
  }
  return { raw: out, cleanup: async () => { for (const dir of made.reverse()) await rm(dir, { recursive: true, force: true }); } };
}
