// UPPER as overlay-boot(8) allows it: a directory, or an executable of the admin's (on the host,
// never from the image) that is run with ACTION=setup and prints the upper directory on its last
// line of output, and with ACTION=teardown once the subhost is gone (e.g. to mount and unmount a
// disk or a tmpfs for the upper). The script also gets NAME, BASE and, at teardown, the UPPER
// directory it printed.
import { isAbsolute } from 'node:path';
import { stat } from 'node:fs/promises';
import { usageError } from '../errors.js';
import { runTool } from '../util/run-tool.js';
import type { SubhostConfig } from './config.js';

const envOf = (cfg: SubhostConfig, action: string, dir?: string) => ({ ACTION: action, NAME: cfg.name, BASE: cfg.base, ...(dir ? { UPPER: dir } : {}) });

/** Run the UPPER script with ACTION=setup; the directory it printed. */
export async function setupUpper(cfg: SubhostConfig, script: string): Promise<string> {
  const { stdout } = await runTool(script, [], { env: envOf(cfg, 'setup'), cwd: cfg.base });
  const dir = stdout.trim().split('\n').pop()?.trim() ?? '';
  const hint = 'make the UPPER script print the absolute path of an existing directory as its last line';
  if (!isAbsolute(dir)) throw usageError(`UPPER script ${script} (ACTION=setup) printed ${JSON.stringify(dir)}, not an absolute path`, hint);
  if (/[,:\n\\]/.test(dir)) throw usageError(`UPPER script ${script} printed ${JSON.stringify(dir)}, which has a ',', ':' or '\\'`, 'overlay mount options cannot carry those characters');
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw usageError(`UPPER script ${script} printed ${dir}, which is not a directory`, hint);
  return dir;
}

export async function teardownUpper(cfg: SubhostConfig, script: string, dir: string): Promise<void> {
  await runTool(script, [], { env: envOf(cfg, 'teardown', dir), cwd: cfg.base });
}
