// Helpers shared by the CLI commands. The builder's flags themselves come from one table,
// src/settings/builder-settings.ts; the value parsers live beside it and are re-exported here
// for the other commands (ls, extract, diff, demo).
import { formatBytes } from '../util/disk-space.js';

export { parseByteSize, parseCompressionOption, parseInteger, parseList } from '../settings/value-parsers.js';
export { formatBytes };

/** Progress goes to a terminal only; in pipes and CI the tools stay quiet. */
export function progressWanted(): boolean {
  return process.stderr.isTTY === true;
}

export function progressLine(text: string): void {
  if (progressWanted()) process.stderr.write(`ramboot: ${text}\n`);
}
